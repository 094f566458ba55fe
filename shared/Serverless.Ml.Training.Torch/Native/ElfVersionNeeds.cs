using System.Buffers.Binary;
using System.Text;

namespace Serverless.Ml.Training.Torch.Native;

/// <summary>
/// Reads and edits the symbol-version requirements (<c>.gnu.version_r</c>) of a 64-bit little-endian ELF shared
/// library. It exists for one edit: marking a required version weak (<c>VER_FLG_WEAK</c>), which makes glibc's loader
/// accept a library whose dependency lacks that version, as long as no relocation needs a symbol of it.
/// </summary>
/// <remarks>
/// Layout facts used (System V gABI, GNU extensions): section headers at <c>e_shoff</c> (64 bytes each);
/// <c>SHT_GNU_verneed</c> (0x6ffffffe) holds a chain of Verneed records (16 bytes: version, count, file, aux, next),
/// each with a chain of Vernaux records (16 bytes: hash, flags, other, name, next); <c>SHT_GNU_versym</c> (0x6fffffff)
/// has one 16-bit version index per dynamic symbol; <c>.dynsym</c> entries are 24 bytes; RELA entries are 24 bytes
/// with the symbol index in the high 32 bits of <c>r_info</c>. The loader reads the same bytes through DT_VERNEED.
/// </remarks>
internal sealed class ElfVersionNeeds
{
    private const uint ShtRela = 4;
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    private const ushort VerFlagWeak = 0x2;

    private readonly byte[] _bytes;
    private readonly string _path;
    private readonly List<Section> _sections = [];

    private ElfVersionNeeds(string path, byte[] bytes)
    {
        _path = path;
        _bytes = bytes;
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            throw new InvalidDataException($"{path}: not an ELF file.");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new InvalidDataException($"{path}: only 64-bit little-endian ELF files are supported.");
        var shoff = U64(40);
        var shentsize = U16(58);
        var shnum = U16(60);
        if (shentsize != 64 || shoff + (ulong)shnum * 64 > (ulong)bytes.Length)
            throw new InvalidDataException($"{path}: malformed section header table.");
        for (var i = 0; i < shnum; i++)
        {
            var at = (int)shoff + 64 * i;
            _sections.Add(new Section(i, U32(at + 4), checked((int)U64(at + 24)), checked((int)U64(at + 32)), U32(at + 40), U32(at + 44)));
        }
        foreach (var s in _sections)
            if (s.Type != 8 /* SHT_NOBITS */ && (s.Offset < 0 || s.Size < 0 || (long)s.Offset + s.Size > bytes.Length))
                throw new InvalidDataException($"{path}: section {s.Index} runs past the end of the file.");
    }

    /// <summary>One required version: the library that must provide it, its name, whether it is weak, its index.</summary>
    public sealed record Requirement(string File, string Version, bool Weak, ushort Index, int FlagsOffset);

    /// <summary>Reads <paramref name="path"/>.</summary>
    public static ElfVersionNeeds Read(string path) => new(path, File.ReadAllBytes(path));

    /// <summary>The file's bytes (edited in memory by <see cref="MarkWeak"/>).</summary>
    public byte[] Bytes => _bytes;

    /// <summary>Every entry of <c>.gnu.version_r</c>, in file order.</summary>
    public IReadOnlyList<Requirement> Requirements()
    {
        var result = new List<Requirement>();
        var verneed = _sections.FirstOrDefault(s => s.Type == ShtGnuVerneed);
        if (verneed is null) return result;
        var strings = _sections[(int)verneed.Link];
        var at = verneed.Offset;
        for (var n = 0; n < verneed.Info; n++)
        {
            var count = U16(at + 2);
            var file = String(strings, U32(at + 4));
            var aux = at + (int)U32(at + 8);
            for (var k = 0; k < count; k++)
            {
                var flags = U16(aux + 4);
                result.Add(new Requirement(file, String(strings, U32(aux + 8)), (flags & VerFlagWeak) != 0, U16(aux + 6), aux + 4));
                aux += (int)U32(aux + 12);
            }
            var next = (int)U32(at + 12);
            if (next == 0) break;
            at += next;
        }
        return result;
    }

    /// <summary>Names of the dynamic symbols bound to version index <paramref name="index"/>.</summary>
    public IReadOnlyList<string> SymbolsOfVersion(ushort index)
    {
        var (dynsym, versym) = DynamicSymbols();
        var strings = _sections[(int)dynsym.Link];
        var names = new List<string>();
        for (var i = 0; i < versym.Size / 2; i++)
            if ((U16(versym.Offset + 2 * i) & 0x7fff) == index) names.Add(String(strings, U32(dynsym.Offset + 24 * i)));
        return names;
    }

    /// <summary>True when some dynamic relocation refers to a symbol bound to version <paramref name="index"/>.</summary>
    public bool RelocationsUseVersion(ushort index)
    {
        var (dynsym, versym) = DynamicSymbols();
        foreach (var rela in _sections.Where(s => s.Type == ShtRela && s.Link == dynsym.Index))
        {
            for (var at = rela.Offset; at + 24 <= rela.Offset + rela.Size; at += 24)
            {
                var symbol = (int)(U64(at + 8) >> 32);
                if (symbol != 0 && 2 * symbol + 2 <= versym.Size && (U16(versym.Offset + 2 * symbol) & 0x7fff) == index) return true;
            }
        }
        return false;
    }

    /// <summary>Sets <c>VER_FLG_WEAK</c> on <paramref name="requirement"/> (in memory; write <see cref="Bytes"/> out).</summary>
    public void MarkWeak(Requirement requirement)
    {
        ArgumentNullException.ThrowIfNull(requirement);
        var flags = U16(requirement.FlagsOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(_bytes.AsSpan(requirement.FlagsOffset), (ushort)(flags | VerFlagWeak));
    }

    private (Section Dynsym, Section Versym) DynamicSymbols()
    {
        var dynsym = _sections.FirstOrDefault(s => s.Type == ShtDynsym) ?? throw new InvalidDataException($"{_path}: no .dynsym section.");
        var versym = _sections.FirstOrDefault(s => s.Type == ShtGnuVersym) ?? throw new InvalidDataException($"{_path}: no .gnu.version section.");
        if (versym.Size / 2 != dynsym.Size / 24) throw new InvalidDataException($"{_path}: .gnu.version and .dynsym disagree in length.");
        return (dynsym, versym);
    }

    private string String(Section table, uint offset)
    {
        var start = table.Offset + (int)offset;
        if (offset >= table.Size) throw new InvalidDataException($"{_path}: string offset {offset} outside its table.");
        var end = Array.IndexOf(_bytes, (byte)0, start, table.Offset + table.Size - start);
        if (end < 0) throw new InvalidDataException($"{_path}: unterminated string at {start}.");
        return Encoding.ASCII.GetString(_bytes, start, end - start);
    }

    private ushort U16(int at) => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(at));

    private uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(at));

    private ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(_bytes.AsSpan(at));

    private sealed record Section(int Index, uint Type, int Offset, int Size, uint Link, uint Info);
}
