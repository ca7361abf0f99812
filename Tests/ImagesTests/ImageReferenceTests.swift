import Images
import Testing

struct ImageReferenceTests {
    @Test func dockerNormalisation() throws {
        #expect(try RegistryReference(parsing: "busybox").description == "docker.io/library/busybox:latest")
        #expect(try RegistryReference(parsing: "user/app:1").description == "docker.io/user/app:1")
        #expect(try RegistryReference(parsing: "127.0.0.1:5000/app:1").registry == "127.0.0.1:5000")
        #expect(try RegistryReference(parsing: "localhost/app").registry == "localhost")
        let ecr = try RegistryReference(parsing: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.4")
        #expect(ecr.registry == "123456789012.dkr.ecr.us-east-1.amazonaws.com")
        #expect(ecr.repository == "app")
        #expect(ecr.tag == "1.4")
        let pinned = try RegistryReference(parsing: "public.ecr.aws/nginx/nginx@sha256:" + String(repeating: "a", count: 64))
        #expect(pinned.repository == "nginx/nginx")
        #expect(pinned.tag == nil)
        #expect(pinned.digest?.hex == String(repeating: "a", count: 64))
    }

    @Test(arguments: ["", "UPPER/case", "app:", "app:-bad", "app@sha256:xyz", "a//b"])
    func invalidRegistryReferences(_ s: String) {
        #expect(throws: ImageError.self) { try RegistryReference(parsing: s) }
    }

    @Test func localTransports() throws {
        #expect(try ImageReference(parsing: "oci:/images/bb:latest") == .oci(directory: "/images/bb", tag: "latest"))
        #expect(try ImageReference(parsing: "oci:/images/bb") == .oci(directory: "/images/bb", tag: nil))
        #expect(try ImageReference(parsing: "oci:out/bb:v1", relativeTo: "/work") == .oci(directory: "/work/out/bb", tag: "v1"))
        #expect(try ImageReference(parsing: "oci-archive:/x.tar:t") == .ociArchive(file: "/x.tar", tag: "t"))
        #expect(try ImageReference(parsing: "docker-archive:/nonexistent/x.tar:busybox:latest") == .dockerArchive(file: "/nonexistent/x.tar", reference: "busybox:latest"))
        #expect(throws: ImageError.self) { try ImageReference(parsing: "containers-storage:foo") }
        #expect(throws: ImageError.self) { try ImageReference(parsing: "oci:") }
    }
}
