/// A classic BPF interpreter for seccomp programs, for tests that compare what two programs
/// decide without loading either into a kernel. It knows only the instructions the profile's
/// programs use (libseccomp 2.5's in both layouts, and the prologue's JSET): loads of
/// `struct seccomp_data` words, AND with a constant, the jumps, returns. It refuses any other,
/// so a program it cannot follow fails the test rather than passing it by accident.
struct ClassicBPF {
    /// What a syscall looks like to a seccomp filter (`struct seccomp_data`).
    struct Call {
        var nr: UInt32
        var arch: UInt32
        var args: [UInt64] = [0, 0, 0, 0, 0, 0]

        /// The 32-bit word at `offset`, as the kernel lays the struct out (little endian).
        func word(at offset: UInt32) -> UInt32? {
            switch offset {
            case 0: return nr
            case 4: return arch
            case 8, 12: return 0  // instruction_pointer
            case 16..<64 where offset % 4 == 0:
                let arg = args[Int(offset - 16) / 8]
                return offset % 8 == 0 ? UInt32(truncatingIfNeeded: arg) : UInt32(truncatingIfNeeded: arg >> 32)
            default: return nil
            }
        }
    }

    struct Instruction {
        var code: UInt16, jt: UInt8, jf: UInt8, k: UInt32
        init(_ raw: UInt64) {
            code = UInt16(truncatingIfNeeded: raw)
            jt = UInt8(truncatingIfNeeded: raw >> 16)
            jf = UInt8(truncatingIfNeeded: raw >> 24)
            k = UInt32(truncatingIfNeeded: raw >> 32)
        }
    }

    enum Failure: Error, CustomStringConvertible {
        case unknownInstruction(at: Int, code: UInt16)
        case badLoad(at: Int, offset: UInt32)
        case ranOffTheEnd
        var description: String {
            switch self {
            case .unknownInstruction(let pc, let code): return "instruction \(pc): opcode 0x\(String(code, radix: 16)) not interpreted"
            case .badLoad(let pc, let offset): return "instruction \(pc): load at offset \(offset)"
            case .ranOffTheEnd: return "the program ran past its end"
            }
        }
    }

    let program: [Instruction]

    init(_ raw: [UInt64]) { program = raw.map(Instruction.init) }

    /// The action the program returns for `call`, and how many instructions it ran to get there.
    func run(_ call: Call) throws -> (action: UInt32, steps: Int) {
        var a: UInt32 = 0
        var pc = 0, steps = 0
        while pc < program.count {
            let i = program[pc]
            steps += 1
            pc += 1
            func jump(_ taken: Bool) { pc += Int(taken ? i.jt : i.jf) }
            switch i.code {
            case 0x20:  // LD W ABS
                guard let w = call.word(at: i.k) else { throw Failure.badLoad(at: pc - 1, offset: i.k) }
                a = w
            case 0x54: a &= i.k                // ALU AND K
            case 0x05: pc += Int(i.k)          // JA
            case 0x15: jump(a == i.k)          // JEQ K
            case 0x25: jump(a > i.k)           // JGT K
            case 0x35: jump(a >= i.k)          // JGE K
            case 0x45: jump(a & i.k != 0)      // JSET K
            case 0x06: return (i.k, steps)     // RET K
            default: throw Failure.unknownInstruction(at: pc - 1, code: i.code)
            }
        }
        throw Failure.ranOffTheEnd
    }
}
