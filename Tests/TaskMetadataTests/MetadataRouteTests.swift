@testable import TaskMetadata
import Testing

/// The agent's routes as gorilla/mux matches them (task_server_setup.go).
struct MetadataRouteTests {
    @Test(arguments: [
        ("/v4/abc", MetadataRoute.container(.v4, id: "abc")),
        ("/v4/", .container(.v4, id: "")),
        ("/v4/abc/task", .task(.v4, id: "abc", withTags: false)),
        ("/v4/abc/taskWithTags", .task(.v4, id: "abc", withTags: true)),
        ("/v4/abc/stats", .containerStats(.v4, id: "abc")),
        ("/v4/abc/task/stats", .taskStats(.v4, id: "abc")),
        ("/v3/abc", .container(.v3, id: "abc")),
        ("/v3/abc/task/stats", .taskStats(.v3, id: "abc")),
        ("/v4/abc/associations/gpu", .associations(.v4, id: "abc", type: "gpu", name: nil)),
        ("/v4/abc/associations/gpu/", .associations(.v4, id: "abc", type: "gpu", name: "")),
        ("/v3/abc/associations/gpu/a/b", .associations(.v3, id: "abc", type: "gpu", name: "a/b")),
        ("/v2/metadata", .v2Task(withTags: false)),
        ("/v2/metadata/", .v2Task(withTags: false)),
        ("/v2/metadataWithTags/", .v2Task(withTags: true)),
        ("/v2/metadata/x-1", .v2Container(id: "x-1")),
        ("/v2/stats", .v2TaskStats),
        ("/v2/stats/x-1", .v2ContainerStats(id: "x-1")),
        ("/v2/credentials/id-1", .credentialsV2(id: "id-1")),
        ("/v2/credentials/", .credentialsV2(id: "")),
        ("/v1/credentials", .credentialsV1),
        ("/api/abc/task-protection/v1/state", .protection(id: "abc")),
    ])
    func matchesTheAgentsRoutes(path: String, route: MetadataRoute) {
        #expect(MetadataRoute(path: path) == route)
    }

    @Test(arguments: ["/", "/v4", "/v2/credentials", "/v4/abc/tasks", "/v4/abc/tasks/stats", "/v4/abc/task/", "/v5/abc", "/api/abc",
                      "/api/abc/fault/v1/network-latency/start", "/v1/credentials/x", "/v2/metadataX"])
    func whatTheAgentDoesNotServeIsNotFound(path: String) {
        #expect(MetadataRoute(path: path) == .notFound, "\(path)")
    }

    @Test func uncleanPathsAreRedirectedToTheirCleanForm() {
        #expect(MetadataRoute(path: "//v4//abc") == .redirect("/v4/abc"))
        #expect(MetadataRoute(path: "/v4/abc/./task") == .redirect("/v4/abc/task"))
        #expect(MetadataRoute(path: "/v4/x/../abc/") == .redirect("/v4/abc/"), "a trailing slash is kept")
    }
}
