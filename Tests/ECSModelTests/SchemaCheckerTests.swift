import ECSModel
import Foundation
import Testing

struct SchemaCheckerTests {
    func check(_ json: String, shape: String = "ContainerDefinition") throws -> (issues: [ValidationIssue], cleaned: JSONValue?) {
        SchemaChecker.check(try JSONParser.parse(Array(json.utf8)), shape: shape)
    }

    @Test func everyProblemWithItsPathAndTheRestKept() throws {
        let (issues, cleaned) = try check(#"""
            {"name": "web", "imagee": "x", "cpu": "256", "essential": "yes", "portMappings": [{"containerPort": 80, "protocol": "TCP"}],
             "ulimits": [{"name": "nofiles", "softLimit": 1, "hardLimit": 2}], "memory": 3000000000, "stopTimeout": 1.5,
             "dockerLabels": {"a": "b", "c": 1}}
            """#)
        #expect(issues == [
            ValidationIssue("imagee", "unknown member: did you mean \"image\"?"),
            ValidationIssue("cpu", "expected an integer, found the string \"256\""),
            ValidationIssue("essential", "expected a boolean (true or false), found the string \"yes\""),
            ValidationIssue("portMappings[0].protocol", "\"TCP\" is not one of: tcp, udp (did you mean \"tcp\"?)"),
            ValidationIssue("ulimits[0].name", "\"nofiles\" is not one of: core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack (did you mean \"nofile\"?)"),
            ValidationIssue("memory", "3000000000 is out of range: -2147483648 to 2147483647"),
            ValidationIssue("stopTimeout", "expected an integer, found 1.5"),
            ValidationIssue("dockerLabels.c", "expected a string, found the number 1 (write it in quotes: \"1\")"),
        ])
        #expect(cleaned?["name"] == .string("web"))
        #expect(cleaned?["cpu"] == nil, "a wrong member is removed so the rest still decodes")
        #expect(cleaned?["portMappings"] == .array([.object([("containerPort", .number("80"))])]), "list indexes are kept")
        #expect(cleaned?["dockerLabels"] == .object([("a", .string("b"))]))
    }

    @Test func requiredMembers() throws {
        let (issues, _) = try check(#"{"containerDefinitions": []}"#, shape: "RegisterTaskDefinitionRequest")
        #expect(issues == [ValidationIssue("family", "required")])
    }

    @Test func longsTakeSixtyFourBits() throws {
        // Any 64-bit shape of the model will do (the task definition itself has none).
        let longShape = try #require(ECSSchema.shapes.first { if case .long = $0.value { return true }; return false }?.key)
        #expect(SchemaChecker.check(.number("9000000000"), shape: longShape).issues.isEmpty)
        #expect(SchemaChecker.check(.number("99999999999999999999"), shape: longShape).issues
                == [ValidationIssue("", "99999999999999999999 is out of range: -9223372036854775808 to 9223372036854775807")])
    }

    @Test func nulInAStringIsRefused() throws {
        let (issues, _) = try check(#"{"environment": [{"name": "A", "value": "x\u0000y"}]}"#)
        #expect(issues == [ValidationIssue("environment[0].value", "contains a NUL character (\\u0000), which a string here cannot hold")])
    }

    @Test func listBounds() throws {
        let codes = (0..<51).map(String.init).joined(separator: ",")
        let (issues, _) = try check(#"{"restartPolicy": {"enabled": true, "ignoredExitCodes": [\#(codes)]}}"#)
        #expect(issues.isEmpty, "the API model does not bound this list; Fargate's rule is in the validator")
    }

    @Test(arguments: [("imagee", "image"), ("Image", "image"), ("portmappings", "portMappings"), ("enviroment", "environment"),
                      ("entrypoint", "entryPoint"), ("healthcheck", "healthCheck"), ("stoptimeout", "stopTimeout")])
    func didYouMean(_ typo: String, _ member: String) throws {
        let (issues, _) = try check(#"{"\#(typo)": 1}"#)
        #expect(issues == [ValidationIssue(typo, "unknown member: did you mean \"\(member)\"?")])
    }

    @Test func noSuggestionWhenNothingIsClose() throws {
        let (issues, _) = try check(#"{"zzzzzzzz": 1}"#)
        #expect(issues == [ValidationIssue("zzzzzzzz", "unknown member (not a member of ContainerDefinition)")])
    }

    @Test func timestampsTakeEpochSecondsOrISO8601() throws {
        let ok = #"{"family": "x", "containerDefinitions": [], "registeredAt": "2024-05-01T10:00:00.5+00:00", "deregisteredAt": 1714557600}"#
        #expect(try check(ok, shape: "TaskDefinition").issues.isEmpty)
        let bad = #"{"registeredAt": "yesterday"}"#
        #expect(try check(bad, shape: "TaskDefinition").issues == [ValidationIssue("registeredAt", "expected a timestamp (seconds since 1970, or ISO-8601), found the string \"yesterday\"")])
    }
}
