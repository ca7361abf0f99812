/// Calendar dates without a formatter, for the hot paths that print many times (report CSVs,
/// the metadata endpoint's Go-style timestamps).
public enum CivilDate {
    /// Year, month, day of a day since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
    /// civil_from_days), for any year alike.
    public static func from(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The day since 1970-01-01 that holds `seconds` since the epoch (earlier times too).
    public static func day(ofSeconds seconds: Int64) -> Int64 {
        seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    }
}
