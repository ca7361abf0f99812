import Testing
@testable import ECSAPI

struct CredentialsFileTests {
    @Test func theSharedCredentialsFormatWithAnOptionalAccount() throws {
        let keys = try CredentialsFile.parse("""
            # comments and other keys are fine
            [default]
            aws_access_key_id = AKIDONE
            aws_secret_access_key = one/secret+
            region = eu-west-1

            [ci]
            AWS_ACCESS_KEY_ID=AKIDTWO
            aws_secret_access_key=two
            aws_session_token = tok
            account = 123456789012
            """, file: "creds", defaultAccount: "000000000000")
        #expect(keys["AKIDONE"] == ECSAPI.AccessKey(secret: "one/secret+", account: "000000000000"))
        #expect(keys["AKIDTWO"] == ECSAPI.AccessKey(secret: "two", account: "123456789012", sessionToken: "tok"))
    }

    @Test func problemsNameTheFileLineAndSection() {
        func problem(_ text: String) -> String {
            do { _ = try CredentialsFile.parse(text, file: "creds", defaultAccount: "000000000000") } catch { return "\(error)" }
            return "accepted"
        }
        #expect(problem("[a]\naws_access_key_id = X\n") == "creds:1: [a] needs aws_access_key_id and aws_secret_access_key")
        #expect(problem("aws_access_key_id = X\n") == "creds:1: expected key = value inside a [section], found aws_access_key_id = X")
        #expect(problem("[a\n") == "creds:1: a section is [name], not [a")
        #expect(problem("[a]\naws_access_key_id=X\naws_secret_access_key=Y\naccount=12\n") == "creds:1: [a] account 12 is not 12 digits")
        #expect(problem("[a]\naws_access_key_id=X\naws_secret_access_key=Y\n[b]\naws_access_key_id=X\naws_secret_access_key=Z\n")
                == "creds:4: access key X is listed twice")
        #expect(problem("# nothing\n") == "--credentials creds: no [section] with a key pair")
    }
}
