#include "CRE2.h"

#include <re2/re2.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

struct fs_re2 {
    re2::RE2 re;
    std::vector<const char *> names;  // index = group number; NULL when unnamed
    explicit fs_re2(const std::string &p, const re2::RE2::Options &o) : re(p, o) {}
};

static re2::RE2::Options options() {
    re2::RE2::Options o;  // UTF-8, Perl classes, leftmost-first like Go's regexp, `.` excludes \n
    o.set_log_errors(false);
    return o;
}

static char *copy(const std::string &s) {
    char *out = static_cast<char *>(std::malloc(s.size() + 1));
    if (out) std::memcpy(out, s.c_str(), s.size() + 1);
    return out;
}

// `\C` (any single byte) is RE2-only: Go's regexp, and so Prometheus, rejects it, and a match
// that splits a UTF-8 sequence has no meaning for label values.
static bool hasAnyByteEscape(const std::string &p) {
    for (size_t i = 0; i + 1 < p.size(); i++) {
        if (p[i] == '\\') {
            if (p[i + 1] == 'C') return true;
            if (p[i + 1] == 'Q') {  // \Q...\E is literal text
                size_t end = p.find("\\E", i + 2);
                if (end == std::string::npos) return false;
                i = end + 1;
                continue;
            }
            i++;
        }
    }
    return false;
}

extern "C" fs_re2 *fs_re2_compile(const char *pattern, size_t length, char **error) {
    std::string raw(pattern ? pattern : "", pattern ? length : 0);
    if (hasAnyByteEscape(raw)) {
        *error = copy("invalid escape sequence: \\C");
        return nullptr;
    }
    // Textual wrapping, exactly as Prometheus (`regexp.Compile("^(?:" + re + ")$")`).
    fs_re2 *r = new fs_re2("^(?:" + raw + ")$", options());
    if (!r->re.ok()) {
        // The user's own pattern gives the error message without our wrapper in it.
        re2::RE2 plain(raw, options());
        *error = copy(plain.ok() ? r->re.error() : plain.error());
        delete r;
        return nullptr;
    }
    int n = r->re.NumberOfCapturingGroups();
    r->names.assign(static_cast<size_t>(n) + 1, nullptr);
    for (const auto &kv : r->re.CapturingGroupNames()) {
        if (kv.first >= 0 && kv.first <= n) r->names[static_cast<size_t>(kv.first)] = kv.second.c_str();
    }
    *error = nullptr;
    return r;
}

extern "C" void fs_re2_free(fs_re2 *re) { delete re; }
extern "C" void fs_re2_free_error(char *error) { std::free(error); }

extern "C" int fs_re2_groups(const fs_re2 *re) { return re->re.NumberOfCapturingGroups(); }

extern "C" const char *fs_re2_group_name(const fs_re2 *re, int group) {
    if (group < 0 || static_cast<size_t>(group) >= re->names.size()) return nullptr;
    return re->names[static_cast<size_t>(group)];
}

static const char empty[1] = {0};

extern "C" bool fs_re2_match(const fs_re2 *re, const char *text, size_t length) {
    re2::StringPiece t(text ? text : empty, text ? length : 0);
    // Unanchored search of the `^...$` pattern, as Go's MatchString: identical to a full match
    // for every well-formed pattern, and faithful for odd ones such as `a)|(b`.
    return re->re.Match(t, 0, t.size(), re2::RE2::UNANCHORED, nullptr, 0);
}

extern "C" bool fs_re2_match_spans(const fs_re2 *re, const char *text, size_t length, long *spans, int nspans) {
    re2::StringPiece t(text ? text : empty, text ? length : 0);
    int groups = nspans / 2;
    int usable = groups < re->re.NumberOfCapturingGroups() + 1 ? groups : re->re.NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> sub(static_cast<size_t>(usable > 0 ? usable : 1));
    if (!re->re.Match(t, 0, t.size(), re2::RE2::UNANCHORED, sub.data(), usable)) return false;
    for (int g = 0; g < groups; g++) {
        if (g < usable && sub[static_cast<size_t>(g)].data() != nullptr) {
            spans[2 * g] = static_cast<long>(sub[static_cast<size_t>(g)].data() - t.data());
            spans[2 * g + 1] = spans[2 * g] + static_cast<long>(sub[static_cast<size_t>(g)].size());
        } else {
            spans[2 * g] = -1;
            spans[2 * g + 1] = -1;
        }
    }
    return true;
}
