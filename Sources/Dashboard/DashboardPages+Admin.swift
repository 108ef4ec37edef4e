extension DashboardPages {
    /// The admin page: ingest tokens by cluster, users, recent audit events. The collector serves
    /// it to admins only; admin.js fills it from /api/v1/admin/ and sends the changes there.
    static func admin() -> String {
        shell(page: "admin", title: "Admin", attributes: "", admin: true, main: """
        <h1>Admin</h1>
        <p class="hint">Ingest tokens, users and what changed. Every change here is in the audit log with your name and address.</p>
        <section class="panel" aria-labelledby="tokens-title">
          <div class="panel-head"><h2 id="tokens-title">Ingest tokens</h2></div>
          <form class="admin-form" id="token-form">
            <label>Cluster <input id="token-cluster" required autocomplete="off" spellcheck="false" placeholder="store-17"></label>
            <label>Labels <input id="token-labels" autocomplete="off" spellcheck="false" placeholder="region=eu, site=ber"></label>
            <button type="submit" class="primary">Create token</button>
          </form>
          <div class="secret" id="token-secret" role="status" hidden></div>
          <div class="error" id="token-error" role="alert" hidden></div>
          <div class="table-wrap" id="tokens"></div>
        </section>
        <section class="panel" aria-labelledby="users-title">
          <div class="panel-head"><h2 id="users-title">Users</h2></div>
          <form class="admin-form" id="user-form">
            <label>Name <input id="user-name" required autocomplete="off" spellcheck="false"></label>
            <label>Role <select id="user-role"><option value="viewer">viewer</option><option value="admin">admin</option></select></label>
            <label>Scope <input id="user-scope" autocomplete="off" spellcheck="false" placeholder='{region="eu"} or all'></label>
            <label>Password <input id="user-password" type="password" autocomplete="new-password" placeholder="unchanged when empty"></label>
            <button type="submit" class="primary">Add or change user</button>
          </form>
          <div class="error" id="user-error" role="alert" hidden></div>
          <div class="table-wrap" id="users"></div>
        </section>
        <section class="panel" aria-labelledby="audit-title">
          <div class="panel-head"><h2 id="audit-title">Recent changes</h2></div>
          <div class="table-wrap" id="audit"></div>
        </section>
        """)
    }
}
