using System.Globalization;

namespace Serverless.Ml.Onnx.Graph;

/// <summary>
/// One dimension of a declared shape: a fixed size, or a named symbol such as <c>batch</c> whose size is
/// chosen per run. Implicit conversions let shapes be written as <c>("batch", 7)</c>.
/// </summary>
public readonly record struct OnnxDim
{
    private OnnxDim(long? size, string? symbol)
    {
        Size = size;
        Symbol = symbol;
    }

    /// <summary>The conventional symbolic batch dimension, <c>batch</c>.</summary>
    public static OnnxDim Batch { get; } = new(null, "batch");

    /// <summary>The fixed size, or null for a symbolic dimension.</summary>
    public long? Size { get; }

    /// <summary>The symbol, or null for a fixed dimension.</summary>
    public string? Symbol { get; }

    /// <summary>A fixed dimension.</summary>
    public static OnnxDim Fixed(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return new OnnxDim(size, null);
    }

    /// <summary>A symbolic dimension; equal symbols in one graph mean equal sizes.</summary>
    public static OnnxDim Symbolic(string symbol)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        return new OnnxDim(null, symbol);
    }

    /// <summary>Converts a size to a fixed dimension.</summary>
    public static implicit operator OnnxDim(long size) => Fixed(size);

    /// <summary>Converts a symbol to a symbolic dimension.</summary>
    public static implicit operator OnnxDim(string symbol) => Symbolic(symbol);

    /// <inheritdoc />
    public override string ToString() => Symbol ?? Size?.ToString(CultureInfo.InvariantCulture) ?? "?";
}
