using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Serverless.Ml.Data.TfRecord;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum TFRecord framing uses, plus TensorFlow's
/// mask. Written here because System.IO.Hashing does not restore from our feed. Uses the SSE4.2 <c>crc32</c>
/// instruction (8 bytes a step) when the CPU has it, else a slicing-by-8 table; both give identical results.
/// </summary>
public static class Crc32C
{
    private const uint Poly = 0x82F63B78u;
    private const uint MaskDelta = 0xA282EAD8u;
    private static readonly uint[] Table = BuildTable();

    /// <summary>Whether the hardware instruction is used.</summary>
    public static bool IsHardwareAccelerated => Sse42.X64.IsSupported;

    /// <summary>CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Extends a CRC-32C over more bytes: <c>Append(Compute(a), b) == Compute(a + b)</c>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) =>
        ~(Sse42.X64.IsSupported ? UpdateHardware(~crc, data) : UpdateSoftware(~crc, data));

    /// <summary>TensorFlow's masked CRC: rotate right by 15, add 0xa282ead8 (so CRCs of CRCs stay informative).</summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    /// <summary>Inverse of <see cref="Mask"/>.</summary>
    public static uint Unmask(uint masked)
    {
        var r = masked - MaskDelta;
        return (r >> 17) | (r << 15);
    }

    /// <summary>The table-driven path, public to tests so both paths are checked on machines with SSE4.2.</summary>
    internal static uint ComputeSoftware(ReadOnlySpan<byte> data) => ~UpdateSoftware(~0u, data);

    private static uint UpdateHardware(uint crc, ReadOnlySpan<byte> data)
    {
        ulong c = crc;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8) c = Sse42.X64.Crc32(c, MemoryMarshal.Read<ulong>(data[i..]));
        var c32 = (uint)c;
        for (; i < data.Length; i++) c32 = Sse42.Crc32(c32, data[i]);
        return c32;
    }

    private static uint UpdateSoftware(uint crc, ReadOnlySpan<byte> data)
    {
        var t = Table;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            var lo = BinaryPrimitives.ReadUInt32LittleEndian(data[i..]) ^ crc;
            var hi = BinaryPrimitives.ReadUInt32LittleEndian(data[(i + 4)..]);
            crc = t[(7 * 256) + (lo & 0xFF)] ^ t[(6 * 256) + ((lo >> 8) & 0xFF)] ^ t[(5 * 256) + ((lo >> 16) & 0xFF)] ^ t[(4 * 256) + (lo >> 24)]
                ^ t[(3 * 256) + (hi & 0xFF)] ^ t[(2 * 256) + ((hi >> 8) & 0xFF)] ^ t[256 + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
        }
        for (; i < data.Length; i++) crc = t[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var t = new uint[8 * 256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ Poly : c >> 1;
            t[n] = c;
        }
        for (var s = 1; s < 8; s++)
            for (var n = 0; n < 256; n++) t[(s * 256) + n] = (t[((s - 1) * 256) + n] >> 8) ^ t[t[((s - 1) * 256) + n] & 0xFF];
        return t;
    }
}
