#if canImport(Glibc)
import Glibc
#endif
import CShim
import ECSModel
import Foundation
import LinuxSupport
import TaskRuntime
import TestSupport
import Testing


struct TmpfsOptionsTests {
    @Test func dockersDefaultsAndECSOptions() {
        let (flags, data, ignored) = TmpfsOptions.parse([])
        #expect(flags == UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC))
        #expect(data == ["mode=1777"])
        #expect(ignored.isEmpty)
        let (f2, d2, i2) = TmpfsOptions.parse(["exec", "ro", "noatime", "mode=0700", "uid=33", "suid", "dev", "rshared", "mode"])
        #expect(f2 == UInt(MS_NOSUID | MS_NODEV | MS_RDONLY | MS_NOATIME))
        #expect(d2 == ["mode=0700", "uid=33"])
        #expect(i2 == ["suid", "dev", "rshared", "mode"])
        #expect(TmpfsOptions.parse(["mode=1,size=999g"]).ignored == ["mode=1,size=999g"], "no smuggled options")
    }
}
