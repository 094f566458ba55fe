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
    private ulong[] _keys = new ulong[64];
    private int[] _buckets = new int[128];
    private int _count;

    public int Count => _count;

    public void Clear()
    {
        _arenaUsed = 0;
        _count = 0;
        Array.Clear(_buckets);
    }

    /// <summary>
    /// Code of <paramref name="value"/>, adding it when new. Values of at most 8 bytes (typical categories) are
    /// packed into one 64-bit key: hashing is one multiply and equality one compare, no byte loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int GetOrAdd(ReadOnlySpan<byte> value)
    {
        var len = value.Length;
        if (len > 8) return GetOrAddLong(value);
        var key = Pack(value);
        var h = ShortHash(key, len);
        var mask = _buckets.Length - 1;
        var b = h & mask;
        var buckets = _buckets;
        while (true)
        {
            var e = buckets[b] - 1;
            if (e < 0) break;
            if (_keys[e] == key && _lengths[e] == len) return e;
            b = (b + 1) & mask;
        }
        return Insert(value, h, b, key);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int GetOrAddLong(ReadOnlySpan<byte> value)
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
        return Insert(value, h, b, 0);
    }

    private int Insert(ReadOnlySpan<byte> value, int h, int b, ulong key)
    {
        if (_count == _offsets.Length)
        {
            Array.Resize(ref _offsets, _count * 2);
            Array.Resize(ref _lengths, _count * 2);
            Array.Resize(ref _hashes, _count * 2);
            Array.Resize(ref _keys, _count * 2);
        }
        if (_arenaUsed + value.Length > _arena.Length) Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + value.Length));
        value.CopyTo(_arena.AsSpan(_arenaUsed));
        var id = _count++;
        _offsets[id] = _arenaUsed;
        _lengths[id] = value.Length;
        _hashes[id] = h;
        _keys[id] = key;
        _arenaUsed += value.Length;
        _buckets[b] = id + 1;
        if (_count * 2 > _buckets.Length) Rehash();
        return id;
    }

    /// <summary>Packs up to 8 bytes into a key; together with the length it identifies the value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Pack(ReadOnlySpan<byte> v)
    {
        ref var r = ref MemoryMarshal.GetReference(v);
        switch (v.Length)
        {
            case 8: return Unsafe.ReadUnaligned<ulong>(ref r);
            case >= 4:
                // Two overlapping 4-byte reads: for a known length this is injective.
                return Unsafe.ReadUnaligned<uint>(ref r) | ((ulong)Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref r, v.Length - 4)) << 32);
            case 0: return 0;
            default:
                ulong k = 0;
                for (var i = 0; i < v.Length; i++) k |= (ulong)Unsafe.Add(ref r, i) << (8 * i);
                return k;
        }
    }

    /// <summary>Full 64-bit mix (murmur3's finalizer): the bytes that differ sit in any part of the key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ShortHash(ulong key, int len)
    {
        var h = key ^ ((ulong)len << 59);
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        return (int)(h & 0x7FFFFFFF);
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
