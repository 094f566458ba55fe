namespace Serverless.Ml.Training;

/// <summary>
/// A small, fully specified pseudo-random generator (xoshiro128** seeded through SplitMix64) whose state is four
/// integers, so it can be written to a checkpoint and resumed exactly; <see cref="Random"/>'s algorithm and state
/// are not part of .NET's contract. Training derives a fresh generator per purpose from (seed, stream, counter)
/// with <see cref="Derive"/>, so the random numbers of step t never depend on how steps before it ran.
/// </summary>
public sealed class DeterministicRandom
{
    private uint _s0, _s1, _s2, _s3;

    /// <summary>Seeds the generator.</summary>
    public DeterministicRandom(ulong seed)
    {
        var x = seed;
        var a = SplitMix(ref x);
        var b = SplitMix(ref x);
        _s0 = (uint)a; _s1 = (uint)(a >> 32); _s2 = (uint)b; _s3 = (uint)(b >> 32);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1;
    }

    /// <summary>A generator for one purpose: <paramref name="stream"/> names it, <paramref name="counter"/> (epoch, step) indexes it.</summary>
    public static DeterministicRandom Derive(ulong seed, ulong stream, ulong counter)
    {
        var x = seed ^ 0x5851F42D4C957F2DUL;
        var h = SplitMix(ref x);
        x = h ^ (stream * 0xD1B54A32D192ED03UL);
        h = SplitMix(ref x);
        x = h ^ (counter * 0x9E3779B97F4A7C15UL);
        return new DeterministicRandom(SplitMix(ref x));
    }

    /// <summary>The state, for checkpoints.</summary>
    public uint[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>Restores a state from <see cref="GetState"/>.</summary>
    public void SetState(IReadOnlyList<uint> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 4) throw new ArgumentException("The state has four words.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0) throw new ArgumentException("The all-zero state is invalid.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>Next 32 random bits.</summary>
    public uint NextUInt32()
    {
        var result = uint.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 9;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = uint.RotateLeft(_s3, 11);
        return result;
    }

    /// <summary>Uniform float in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt32() >> 8) * (1f / (1 << 24));

    /// <summary>Uniform float in [low, high).</summary>
    public float NextFloat(float low, float high) => low + (high - low) * NextFloat();

    /// <summary>Uniform integer in [0, exclusiveMax) without modulo bias (Lemire's method).</summary>
    public int NextInt(int exclusiveMax)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(exclusiveMax);
        var bound = (uint)exclusiveMax;
        var product = (ulong)NextUInt32() * bound;
        if ((uint)product < bound)
        {
            var threshold = (uint)-bound % bound;
            while ((uint)product < threshold) product = (ulong)NextUInt32() * bound;
        }
        return (int)(product >> 32);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle(Span<int> values)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
