import Foundation
import HTTPServing
import Testing
@testable import ECSAPI

/// SigV4 as the server checks it, against a request botocore 1.43.11 signed (SigV4Auth, the
/// secret of AWS's documentation examples) and variations of it.
struct SigV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let signedAt = SigV4.time("20261206T043118Z")!

    func request(signature: String = "7098b42b57d239f7ba47b7b3364209e2271625940ae2c2b96a3a8285fd8681ff",
                 body: String = #"{"clusterName": "ci"}"#) -> HTTPRequest {
        HTTPRequest(method: "POST", path: "/", headers: [
            "content-type": "application/x-amz-json-1.1",
            "x-amz-target": "AmazonEC2ContainerServiceV20141113.CreateCluster",
            "host": "127.0.0.1:8557",
            "x-amz-date": "20261206T043118Z",
            "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=\(signature)",
        ], body: Array(body.utf8))
    }

    func code(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as ECSError { return e.code } catch { return "\(error)" }
        return nil
    }

    @Test func botocoresSignatureVerifies() throws {
        let r = request()
        let p = try SigV4.parse(r)
        #expect(p.accessKey == "AKIDEXAMPLE" && p.region == "us-east-1" && p.service == "ecs")
        #expect(p.signedHeaders == ["content-type", "host", "x-amz-date", "x-amz-target"])
        try SigV4.verify(r, p, secret: SigV4Tests.secret, now: SigV4Tests.signedAt.addingTimeInterval(60))
    }

    @Test func aChangedBodyWrongSecretOrStaleDateIsRefused() throws {
        let tampered = request(body: #"{"clusterName": "other"}"#)
        #expect(code { try SigV4.verify(tampered, try SigV4.parse(tampered), secret: SigV4Tests.secret, now: SigV4Tests.signedAt) } == "InvalidSignatureException")
        let r = request()
        let p = try SigV4.parse(r)
        #expect(code { try SigV4.verify(r, p, secret: "wrong", now: SigV4Tests.signedAt) } == "InvalidSignatureException")
        var message = ""
        do { try SigV4.verify(r, p, secret: SigV4Tests.secret, now: SigV4Tests.signedAt.addingTimeInterval(301)) } catch let e as ECSError { message = e.message } catch {}
        #expect(message == "Signature expired: 20261206T043118Z is now earlier than 20261206T043119Z (20261206T043619Z - 5 min.)")
        #expect(code { try SigV4.verify(r, p, secret: SigV4Tests.secret, now: SigV4Tests.signedAt.addingTimeInterval(-301)) } == "InvalidSignatureException")
    }

    @Test func malformedAuthorizationHeadersSayWhatIsMissing() {
        var r = request()
        r.headers["authorization"] = nil
        #expect(code { _ = try SigV4.parse(r) } == "MissingAuthenticationTokenException")
        r.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/ecs/aws4_request"
        var message = ""
        do { _ = try SigV4.parse(r) } catch let e as ECSError { message = e.message } catch {}
        #expect(message.hasPrefix("Authorization header requires 'SignedHeaders' parameter. Authorization header requires 'Signature' parameter."), "\(message)")
        r.headers["authorization"] = "AWS4-HMAC-SHA256 Credential"
        #expect(code { _ = try SigV4.parse(r) } == "IncompleteSignatureException")
        r.headers["authorization"] = "Basic dXNlcjpwYXNz"
        #expect(code { _ = try SigV4.parse(r) } == "IncompleteSignatureException")
    }

    @Test func amzDatesParseOnlyInTheirOneFormat() {
        #expect(SigV4.time("20261206T043118Z") == Date(timeIntervalSince1970: 1_796_531_478))
        #expect(SigV4.format(Date(timeIntervalSince1970: 1_796_531_478)) == "20261206T043118Z")
        for bad in ["2026-12-06T04:31:18Z", "20261306T043118Z", "20261206T253118Z", "20261206T043118", ""] {
            #expect(SigV4.time(bad) == nil, "\(bad)")
        }
    }
}
