// What functions read from their argument expressions rather than from their values.

/// The expression inside any parentheses: `timestamp((up))` still reads a selector, and
/// `label_replace`'s string arguments may be parenthesised.
func unwrapParens(_ e: Expr) -> Expr {
    if case .paren(let x) = e { return unwrapParens(x) }
    return e
}
