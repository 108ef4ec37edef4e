import CRC32CHW

/// CRC-32C (Castagnoli), the checksum of every durable record: WAL records, block index
/// sections and chunks, edge queue records and cursor. Castagnoli rather than IEEE because it
/// detects more error patterns in short records (as LevelDB and Prometheus' WAL use it).
/// The CPU instruction where there is one (CRC32CHW), else slicing-by-8 tables.
public enum CRC32C {
    public static let hardware = fleetscope_crc32c_hw_available() != 0

    static let tables: [[UInt32]] = {
        let poly: UInt32 = 0x82F6_3B78
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ poly : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xff)] }
        }
        return t
    }()

    /// Continues `crc` (0 to start) over `data`.
    public static func update(_ crc: UInt32, _ data: UnsafeRawBufferPointer) -> UInt32 {
        if hardware, let base = data.baseAddress {
            return ~fleetscope_crc32c_hw_update(~crc, base.assumingMemoryBound(to: UInt8.self), data.count)
        }
        return tableUpdate(crc, data)
    }

    /// The portable version; also the reference the hardware path is tested against.
    public static func tableUpdate(_ crc: UInt32, _ data: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        var i = 0
        let n = data.count
        tables.withUnsafeBufferPointer { tt in
            let t0 = tt[0], t1 = tt[1], t2 = tt[2], t3 = tt[3], t4 = tt[4], t5 = tt[5], t6 = tt[6], t7 = tt[7]
            while n - i >= 8 {
                let lo = c ^ (UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24)
                c = t7[Int(lo & 0xff)] ^ t6[Int((lo >> 8) & 0xff)] ^ t5[Int((lo >> 16) & 0xff)] ^ t4[Int(lo >> 24)]
                    ^ t3[Int(data[i + 4])] ^ t2[Int(data[i + 5])] ^ t1[Int(data[i + 6])] ^ t0[Int(data[i + 7])]
                i += 8
            }
            while i < n {
                c = t0[Int((c ^ UInt32(data[i])) & 0xff)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    public static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 { update(0, data) }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { update(0, $0) } }

    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 { bytes.withUnsafeBytes { update(0, $0) } }
}
