using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Serverless.Ml.Data;

/// <summary>
/// Maps UTF-8 byte spans to dense codes without allocating a string per occurrence: values live once in a byte
/// arena, lookups hash the span and compare bytes. Used to dictionary-encode text columns while parsing.
/// </summary>
internal sealed class Utf8Interner
{
    private byte[] _arena = new byte[4096];
    private int _arenaUsed;
    private int[] _offsets = new int[64];
    private int[] _lengths = new int[64];
    private int[] _hashes = new int[64];
    private int[] _buckets = new int[128];
    private int _count;

    public int Count => _count;

    public void Clear()
    {
        _arenaUsed = 0;
        _count = 0;
        Array.Clear(_buckets);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int GetOrAdd(ReadOnlySpan<byte> value)
    {
        var h = Hash(value);
        var mask = _buckets.Length - 1;
        var b = h & mask;
        while (true)
        {
            var e = _buckets[b] - 1;
            if (e < 0) break;
            if (_hashes[e] == h && _lengths[e] == value.Length && value.SequenceEqual(_arena.AsSpan(_offsets[e], _lengths[e]))) return e;
            b = (b + 1) & mask;
        }
        if (_count == _offsets.Length)
        {
            Array.Resize(ref _offsets, _count * 2);
            Array.Resize(ref _lengths, _count * 2);
            Array.Resize(ref _hashes, _count * 2);
        }
        if (_arenaUsed + value.Length > _arena.Length) Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + value.Length));
        value.CopyTo(_arena.AsSpan(_arenaUsed));
        var id = _count++;
        _offsets[id] = _arenaUsed;
        _lengths[id] = value.Length;
        _hashes[id] = h;
        _arenaUsed += value.Length;
        _buckets[b] = id + 1;
        if (_count * 2 > _buckets.Length) Rehash();
        return id;
    }

    public ReadOnlySpan<byte> Get(int id) => _arena.AsSpan(_offsets[id], _lengths[id]);

    public string[] ToStrings()
    {
        var r = new string[_count];
        for (var i = 0; i < _count; i++) r[i] = Encoding.UTF8.GetString(Get(i));
        return r;
    }

    private void Rehash()
    {
        var nb = new int[_buckets.Length * 2];
        var mask = nb.Length - 1;
        for (var e = 0; e < _count; e++)
        {
            var b = _hashes[e] & mask;
            while (nb[b] != 0) b = (b + 1) & mask;
            nb[b] = e + 1;
        }
        _buckets = nb;
    }

    /// <summary>A fast non-cryptographic hash (8 bytes a step, multiply-xorshift mixing); never persisted.</summary>
    internal static int Hash(ReadOnlySpan<byte> s)
    {
        ulong h = 0x9E3779B97F4A7C15UL ^ (ulong)s.Length;
        var i = 0;
        for (; i + 8 <= s.Length; i += 8)
        {
            h ^= MemoryMarshal.Read<ulong>(s[i..]);
            h *= 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
        }
        ulong tail = 0;
        for (var k = 0; i < s.Length; i++, k += 8) tail |= (ulong)s[i] << k;
        h ^= tail;
        h *= 0x94D049BB133111EBUL;
        h ^= h >> 29;
        return (int)(h & 0x7FFFFFFF);
    }
}
