import Crypto
import Foundation
import HummingbirdBcrypt
import Storage
import Synchronization

/// A user as the login path needs it.
struct UserRecord: Sendable {
    var bcryptHash: String
    var role: Role
    var scope: [LabelMatcher]
}

/// Why a login was refused, and what to answer.
struct LoginRefusal: Error, Sendable, Equatable {
    /// 401 (ask for credentials again) or 429 (throttled or too many checks in flight).
    var status: Int
    var message: String
    var retryAfterSeconds: Int?
    /// For the server log; user names in it are escaped.
    var logMessage: String?
}

/// HTTP Basic logins: parse, refuse malformed credentials, throttle failures per user and
/// per source address, verify with bcrypt on its own pool, and remember verified passwords
/// only as long as the user's stored hash stays the same.
final class LoginGate: Sendable {
    let policy: LoginPolicy
    let throttle: LoginThrottle
    private let pool: BcryptPool
    private let fetchUser: @Sendable (String) async throws -> UserRecord?
    /// `auth.ldap`: checks names that are not local users. Local users take precedence, so the
    /// bootstrap admin works while the directory is down.
    private let directory: DirectoryLogin?
    private let groupRoles: GroupRoles
    /// Directory logins verified lately (SHA-256 of name and password, with the principal):
    /// a dashboard polling every few seconds does not bind each time; a changed password or
    /// group membership takes effect within `directoryRefreshInterval`.
    private let directoryVerified = Mutex<[String: (principal: Principal, at: ContinuousClock.Instant)]>([:])
    /// Users as last read from the database, with when; re-read after `userRefreshInterval`.
    private let users = Mutex<[String: (record: UserRecord, fetched: ContinuousClock.Instant)]>([:])
    /// SHA-256 of user, password and the stored hash the password was verified against: a
    /// dashboard polling every few seconds does not pay bcrypt each time, and a changed hash
    /// (`collector user passwd`) no longer matches.
    private let verified = Mutex<Set<String>>([])
    /// Checks under way, by user and password: a dashboard or Grafana opening many panels at
    /// once with the same credentials waits for one check instead of queueing one per request
    /// (and being throttled as if each were a separate guess).
    private let inFlight = Mutex<[String: Task<Result<Principal, LoginRefusal>, Never>]>([:])
    /// bcrypt checks run, and how many of them were against the dummy hash (unknown users).
    let bcryptChecks = Atomic<Int>(0)
    let dummyChecks = Atomic<Int>(0)

    /// Unknown users are checked against this, so they cost what a wrong password costs and
    /// user names cannot be told apart by timing. Same cost as real hashes.
    static let dummyHash: String = {
        var rng = SystemRandomNumberGenerator()
        return Bcrypt.hash(String((0..<24).map { _ in Character(UnicodeScalar(UInt8.random(in: 97...122, using: &rng))) }),
                           cost: AccessControl.bcryptCost)
    }()

    init(policy: LoginPolicy, pool: BcryptPool = .shared, directory: DirectoryLogin? = nil, groupRoles: GroupRoles = GroupRoles(),
         fetchUser: @escaping @Sendable (String) async throws -> UserRecord?) {
        self.policy = policy
        self.directory = directory
        self.groupRoles = groupRoles
        self.throttle = LoginThrottle(policy: policy)
        self.pool = pool
        self.fetchUser = fetchUser
    }

    /// Computes the dummy hash now (start-up), not on the first unknown user.
    func warmUp() { _ = Self.dummyHash }

    /// Checks an `Authorization` header value; `remoteAddress` is the peer's IP address.
    func authenticate(authorization: String, remoteAddress: String?) async -> Result<Principal, LoginRefusal> {
        guard let credentials = AuthorizationHeader.basicCredentials(authorization) else {
            return .failure(LoginRefusal(status: 401, message: "authentication required"))
        }
        let (user, password) = credentials
        let flight = Self.sha256(user + "\u{0}" + password)
        let (task, leader) = inFlight.withLock { m in
            if let t = m[flight] { return (t, false) }
            let t = Task { await self.check(user: user, password: password, remoteAddress: remoteAddress) }
            m[flight] = t
            return (t, true)
        }
        let result = await task.value
        if leader { inFlight.withLock { _ = $0.removeValue(forKey: flight) } }
        return result
    }

    private func check(user: String, password: String, remoteAddress: String?) async -> Result<Principal, LoginRefusal> {
        // NUL would cut the password short inside bcrypt's C code (`password\0junk` passed as
        // `password`); control characters in a name could forge log lines.
        guard !Credentials.hasControlCharacters(user), !Credentials.hasControlCharacters(password) else {
            return .failure(LoginRefusal(status: 401, message: "user names and passwords must not contain control characters",
                                         logMessage: "refused login with control characters for user \(LogText.quoted(user))"))
        }
        let keys = ["user\u{0}" + user, "addr\u{0}" + (remoteAddress ?? "unknown")]
        if case .throttled(let seconds) = throttle.admit(keys) {
            return .failure(LoginRefusal(status: 429, message: "too many failed logins for this user or address; retry in \(seconds) s",
                                         retryAfterSeconds: seconds))
        }
        let record: UserRecord?
        do {
            record = try await userRecord(user)
        } catch {
            throttle.finish(keys, .abandoned)
            return .failure(LoginRefusal(status: 503, message: "user database unavailable; retry", retryAfterSeconds: 1,
                                         logMessage: "reading user \(LogText.quoted(user)): \(error)"))
        }
        if record == nil, let directory {
            return await checkDirectory(directory, user: user, password: password, keys: keys, remoteAddress: remoteAddress)
        }
        let key = record.map { Self.verifiedKey(user, password, $0.bcryptHash) }
        if let key, verified.withLock({ $0.contains(key) }), let record {
            throttle.finish(keys, .success)
            return .success(.user(name: user, role: record.role, scope: Scope(record.scope)))
        }
        let ok: Bool
        do {
            ok = try await pool.run { [self] in
                bcryptChecks.wrappingAdd(1, ordering: .relaxed)
                guard let hash = record?.bcryptHash else {
                    dummyChecks.wrappingAdd(1, ordering: .relaxed)
                    _ = Bcrypt.verify(password, hash: Self.dummyHash)
                    return false
                }
                return Bcrypt.verify(password, hash: hash)
            }
        } catch {
            throttle.finish(keys, .abandoned)
            return .failure(LoginRefusal(status: 429, message: "too many logins in progress; retry in 1 s", retryAfterSeconds: 1))
        }
        guard ok, let record, let key else {
            throttle.finish(keys, .failure)
            return .failure(LoginRefusal(status: 401, message: "invalid user name or password",
                                         logMessage: "failed login for user \(LogText.quoted(user)) from \(remoteAddress ?? "unknown")"))
        }
        verified.withLock { v in
            if v.count >= 10_000 { v.removeAll() }
            v.insert(key)
        }
        throttle.finish(keys, .success)
        return .success(.user(name: user, role: record.role, scope: Scope(record.scope)))
    }

    private func checkDirectory(_ directory: DirectoryLogin, user: String, password: String, keys: [String],
                                remoteAddress: String?) async -> Result<Principal, LoginRefusal> {
        let key = Self.sha256("ldap\u{0}" + user + "\u{0}" + password)
        let now = policy.clock.now()
        if let hit = directoryVerified.withLock({ $0[key] }), now - hit.at < policy.directoryRefreshInterval {
            throttle.finish(keys, .success)
            return .success(hit.principal)
        }
        switch await directory.login(user: user, password: password) {
        case .invalidCredentials:
            throttle.finish(keys, .failure)
            return .failure(LoginRefusal(status: 401, message: "invalid user name or password",
                                         logMessage: "failed directory login for user \(LogText.quoted(user)) from \(remoteAddress ?? "unknown")"))
        case .unavailable(let why):
            throttle.finish(keys, .abandoned)
            return .failure(LoginRefusal(status: 503, message: "the LDAP directory is unavailable, so logins of directory users cannot be checked; retry later",
                                         retryAfterSeconds: 5,
                                         logMessage: "directory login for user \(LogText.quoted(user)) not checked: \(LogText.quoted(why))"))
        case .authenticated(_, let groups):
            // The password was right: that resets the failure count even if no role follows.
            throttle.finish(keys, .success)
            guard let grant = groupRoles.grant(groups: groups) else {
                let shown = groups.prefix(10).map { LogText.quoted($0) }.joined(separator: ", ")
                return .failure(LoginRefusal(
                    status: 403,
                    message: "user \(LogText.quoted(user)) is known to the directory, but none of their groups (\(groups.isEmpty ? "none" : shown)\(groups.count > 10 ? ", …" : "")) is mapped to a role in auth.group_roles; ask an administrator to map one of them",
                    logMessage: "directory user \(LogText.quoted(user)) has no mapped group"))
            }
            let principal = grant.principal(name: user)
            directoryVerified.withLock { v in
                if v.count >= 10_000 { v.removeAll() }
                v[key] = (principal, now)
            }
            return .success(principal)
        }
    }

    /// Drops a user's remembered record: a change made in this process (the admin API)
    /// applies to the next request, not a refresh interval later.
    func forget(_ name: String) { users.withLock { _ = $0.removeValue(forKey: name) } }

    /// The user as stored, at most `userRefreshInterval` old. Unknown names are not
    /// remembered (random names must not grow memory); their lookup is one indexed read.
    /// The interval is also how long a user deleted or changed through another collector on
    /// the same PostgreSQL (or by `collector user` commands) can still log in here as before:
    /// `forget` only reaches this process.
    private func userRecord(_ name: String) async throws -> UserRecord? {
        let now = policy.clock.now()
        if let c = users.withLock({ $0[name] }), now - c.fetched < policy.userRefreshInterval { return c.record }
        let r = try await fetchUser(name)
        users.withLock { u in
            if let r { u[name] = (r, now) } else { u[name] = nil }
        }
        return r
    }

    private static func verifiedKey(_ user: String, _ password: String, _ hash: String) -> String {
        sha256(user + "\u{0}" + password + "\u{0}" + hash)
    }

    private static func sha256(_ s: String) -> String {
        SHA256.hash(data: Array(s.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Rules every user name and password obeys, at login and at `collector user add|passwd`.
enum Credentials {
    static func hasControlCharacters(_ s: String) -> Bool {
        s.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

/// Text from callers, made safe for one log line.
enum LogText {
    /// `"name"` with quotes, backslashes and control characters escaped, at most 128 characters.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars.prefix(128) {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.properties.generalCategory == .control || u.properties.generalCategory == .lineSeparator
                    || u.properties.generalCategory == .paragraphSeparator {
                    out += String(format: "\\u{%x}", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        if s.unicodeScalars.count > 128 { out += "…" }
        return out + "\""
    }
}
