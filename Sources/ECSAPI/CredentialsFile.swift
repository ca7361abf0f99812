import Foundation

/// The key pairs `serve --credentials FILE` accepts, in the AWS shared credentials format
/// (`~/.aws/credentials`), so the file clients already use can be given as it is:
///
///     [ci]
///     aws_access_key_id = AKIAEXAMPLE
///     aws_secret_access_key = secret
///     aws_session_token = token      # optional: then requests must carry it
///     account = 123456789012         # optional: the account in ARNs of this key's requests
///
/// Other keys (region, output, ...) are ignored, as the aws CLI ignores ours.
public enum CredentialsFile {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(_ path: String, defaultAccount: String) throws -> [String: ECSAPI.AccessKey] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(description: "--credentials \(path): cannot read it: \(String(cString: strerror(errno)))")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path, defaultAccount: defaultAccount)
    }

    public static func parse(_ text: String, file: String, defaultAccount: String) throws -> [String: ECSAPI.AccessKey] {
        var sections: [(name: String, line: Int, values: [String: String])] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw Problem(description: "\(file):\(n + 1): a section is [name], not \(line)") }
                sections.append((String(line.dropFirst().dropLast()), n + 1, [:]))
                continue
            }
            guard let eq = line.firstIndex(of: "="), !sections.isEmpty else {
                throw Problem(description: "\(file):\(n + 1): expected key = value inside a [section], found \(line)")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            sections[sections.count - 1].values[key] = value
        }
        var keys: [String: ECSAPI.AccessKey] = [:]
        for s in sections {
            guard let id = s.values["aws_access_key_id"], let secret = s.values["aws_secret_access_key"], !id.isEmpty, !secret.isEmpty else {
                throw Problem(description: "\(file):\(s.line): [\(s.name)] needs aws_access_key_id and aws_secret_access_key")
            }
            let account = s.values["account"] ?? defaultAccount
            guard account.count == 12, account.allSatisfy(\.isASCII), account.allSatisfy(\.isNumber) else {
                throw Problem(description: "\(file):\(s.line): [\(s.name)] account \(account) is not 12 digits")
            }
            guard keys[id] == nil else { throw Problem(description: "\(file):\(s.line): access key \(id) is listed twice") }
            keys[id] = ECSAPI.AccessKey(secret: secret, account: account, sessionToken: s.values["aws_session_token"])
        }
        guard !keys.isEmpty else { throw Problem(description: "--credentials \(file): no [section] with a key pair") }
        return keys
    }
}
