#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import HTTPServing

/// AWS Signature Version 4 as the ECS API checks it: the canonical request the clients sign
/// (botocore's `SigV4Auth`, the Go SDK's signer), the string to sign, the key derived from the
/// secret, date, region and service. Errors are AWS's codes and messages.
struct SigV4 {
    struct Parsed {
        var accessKey: String
        var date: String
        var region: String
        var service: String
        var signedHeaders: [String]
        var signature: String
    }

    /// How far a request's time may be from ours.
    static let skew: TimeInterval = 300

    /// The Authorization header's parts.
    static func parse(_ request: HTTPRequest) throws -> Parsed {
        guard let auth = request.header("authorization") else {
            throw ECSError("MissingAuthenticationTokenException", "Missing Authentication Token")
        }
        guard auth.hasPrefix("AWS4-HMAC-SHA256 ") else {
            throw ECSError("IncompleteSignatureException", "Authorization header requires AWS4-HMAC-SHA256 signing. Authorization=\(auth)")
        }
        var fields: [String: String] = [:]
        for part in auth.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else {
                throw ECSError("IncompleteSignatureException", "'\(part.trimmingCharacters(in: .whitespaces))' not a valid key=value pair (missing equal-sign) in Authorization header: '\(auth)'.")
            }
            fields[String(kv[0])] = String(kv[1])
        }
        var missing: [String] = []
        for name in ["Credential", "SignedHeaders", "Signature"] where fields[name] == nil {
            missing.append("Authorization header requires '\(name)' parameter.")
        }
        if request.header("x-amz-date") == nil && request.header("date") == nil {
            missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        }
        guard missing.isEmpty else {
            throw ECSError("IncompleteSignatureException", missing.joined(separator: " ") + " Authorization=\(auth)")
        }
        let scope = fields["Credential"]!.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else {
            throw ECSError("IncompleteSignatureException", "Credential should be scoped to a valid region, not '\(fields["Credential"]!)'.")
        }
        return Parsed(accessKey: scope[0], date: scope[1], region: scope[2], service: scope[3],
                      signedHeaders: fields["SignedHeaders"]!.split(separator: ";").map(String.init), signature: fields["Signature"]!)
    }

    /// Checks the signature with `secret`; throws AWS's error when it does not match or the
    /// request's time is too far from now.
    static func verify(_ request: HTTPRequest, _ p: Parsed, secret: String, now: Date = Date()) throws {
        let amzDate = request.header("x-amz-date") ?? ""
        guard let time = SigV4.time(amzDate) else {
            throw ECSError("IncompleteSignatureException", "X-Amz-Date must be in the ISO8601 Long Format (yyyyMMdd'T'HHmmss'Z'), not '\(amzDate)'.")
        }
        if time < now.addingTimeInterval(-skew) {
            throw ECSError("InvalidSignatureException", "Signature expired: \(amzDate) is now earlier than \(SigV4.format(now.addingTimeInterval(-skew))) (\(SigV4.format(now)) - 5 min.)")
        }
        if time > now.addingTimeInterval(skew) {
            throw ECSError("InvalidSignatureException", "Signature not yet current: \(amzDate) is still later than \(SigV4.format(now.addingTimeInterval(skew))) (\(SigV4.format(now)) + 5 min.)")
        }
        guard amzDate.hasPrefix(p.date) else {
            throw ECSError("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(p.date)' != '\(amzDate.prefix(8))', from '\(amzDate)'.")
        }
        let canonical = canonicalRequest(request, signedHeaders: p.signedHeaders)
        let scope = "\(p.date)/\(p.region)/\(p.service)/aws4_request"
        let toSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(hex(SHA256.hash(data: Data(canonical.utf8))))"
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [p.date, p.region, p.service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let expected = hex(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key))
        guard constantTimeEqual(expected, p.signature.lowercased()) else {
            throw ECSError("InvalidSignatureException", """
                The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.

                The Canonical String for this request should have been
                '\(canonical)'

                The String-to-Sign should have been
                '\(toSign)'

                """)
        }
    }

    /// Method, path, query, the signed headers (trimmed, inner whitespace runs collapsed), the
    /// list of them, and the body's SHA-256.
    static func canonicalRequest(_ r: HTTPRequest, signedHeaders: [String]) -> String {
        let headers = signedHeaders.map { name -> String in
            let value = (r.header(name) ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            return name + ":" + value
        }
        let payload = r.header("x-amz-content-sha256") ?? hex(SHA256.hash(data: Data(r.body)))
        let query = r.query.sorted { $0.key < $1.key }.map { encode($0.key) + "=" + encode($0.value) }.joined(separator: "&")
        return [r.method, r.path.isEmpty ? "/" : r.path, query, headers.joined(separator: "\n") + "\n", signedHeaders.joined(separator: ";"), payload]
            .joined(separator: "\n")
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")) ?? s
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// 20261206T014754Z.
    static func time(_ text: String) -> Date? {
        let c = Array(text.utf8)
        guard c.count == 16, c[8] == UInt8(ascii: "T"), c[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int32? {
            var n: Int32 = 0
            for b in c[from..<from + count] {
                guard b >= 48 && b <= 57 else { return nil }
                n = n * 10 + Int32(b - 48)
            }
            return n
        }
        guard let y = number(0, 4), let mo = number(4, 2), let d = number(6, 2), let h = number(9, 2), let mi = number(11, 2),
              let s = number(13, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var t = tm()
        t.tm_year = y - 1900
        t.tm_mon = mo - 1
        t.tm_mday = d
        t.tm_hour = h
        t.tm_min = mi
        t.tm_sec = s
        return Date(timeIntervalSince1970: TimeInterval(timegm(&t)))
    }

    static func format(_ d: Date) -> String {
        var seconds = time_t(d.timeIntervalSince1970)
        var t = tm()
        gmtime_r(&seconds, &t)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, buf.count, "%Y%m%dT%H%M%SZ", &t)
        return String(cString: buf)
    }
}

extension ECSAPI {
    /// The caller's account and region, from the request's signature. Without listed keys any
    /// signature is accepted (the region is still read from it); with them, the key must be
    /// known, its session token given, and the signature right.
    func authenticate(_ request: HTTPRequest) throws -> Caller {
        guard let keys = settings.credentials else {
            return Caller(account: settings.account, region: settings.region)
        }
        let p = try SigV4.parse(request)
        guard let key = keys[p.accessKey] else {
            throw ECSError("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        if let token = key.sessionToken, request.header("x-amz-security-token") != token {
            throw ECSError("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        try SigV4.verify(request, p, secret: key.secret)
        return Caller(account: key.account, region: settings.region)
    }
}
