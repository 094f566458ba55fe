using System.Numerics;

namespace Serverless.Ml.Data.Sketches;

/// <summary>
/// HyperLogLog distinct counter (Flajolet et al. 2007) with 2^14 registers: standard error 1.04/sqrt(16384) = 0.81%,
/// so estimates are within ±2.5% with 99.7% confidence; small cardinalities use linear counting (near exact).
/// Mergeable by register-wise max. Callers supply a well-mixed 64-bit hash of each value.
/// </summary>
public sealed class HyperLogLog
{
    /// <summary>log2 of the register count.</summary>
    public const int Precision = 14;

    private const int M = 1 << Precision;

    /// <summary>Creates an empty counter.</summary>
    public HyperLogLog()
    {
        Registers = new byte[M];
    }

    private HyperLogLog(byte[] registers)
    {
        Registers = registers;
    }

    /// <summary>The registers (for serialization).</summary>
    public byte[] Registers { get; }

    /// <summary>Adds a hashed value.</summary>
    public void Add(ulong hash)
    {
        var idx = (int)(hash >> (64 - Precision));
        var w = (hash << Precision) | (1UL << (Precision - 1)); // guard bit bounds the rank
        var rank = (byte)(BitOperations.LeadingZeroCount(w) + 1);
        if (rank > Registers[idx]) Registers[idx] = rank;
    }

    /// <summary>Folds another counter in.</summary>
    public void Merge(HyperLogLog other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < M; i++) if (other.Registers[i] > Registers[i]) Registers[i] = other.Registers[i];
    }

    /// <summary>Estimated number of distinct values.</summary>
    public long Estimate()
    {
        double sum = 0;
        var zeros = 0;
        foreach (var r in Registers)
        {
            sum += Math.ScaleB(1.0, -r);
            if (r == 0) zeros++;
        }
        var alpha = 0.7213 / (1 + (1.079 / M));
        var e = alpha * M * M / sum;
        if (e <= 2.5 * M && zeros > 0) e = M * Math.Log((double)M / zeros);
        return (long)Math.Round(e);
    }

    /// <summary>Restores a counter from its registers.</summary>
    public static HyperLogLog FromRegisters(byte[] registers)
    {
        ArgumentNullException.ThrowIfNull(registers);
        if (registers.Length != M) throw new ArgumentException($"expected {M} registers", nameof(registers));
        return new HyperLogLog((byte[])registers.Clone());
    }
}
