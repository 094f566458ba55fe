namespace Serverless.Ml.Data.Idx;

/// <summary>The header of an IDX file: element type and dimensions (the first is the item count).</summary>
/// <param name="DataType">Element type.</param>
/// <param name="Dimensions">Dimension sizes, outermost first.</param>
public sealed record IdxHeader(IdxDataType DataType, IReadOnlyList<int> Dimensions)
{
    /// <summary>Number of items (first dimension).</summary>
    public int Count => Dimensions[0];

    /// <summary>Shape of one item (dimensions after the first); empty for label files.</summary>
    public IReadOnlyList<int> ItemShape => Dimensions.Skip(1).ToArray();

    /// <summary>Elements per item.</summary>
    public int ItemSize => ItemShape.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>Bytes per element.</summary>
    public int ElementSize => DataType switch
    {
        IdxDataType.UInt8 or IdxDataType.Int8 => 1,
        IdxDataType.Int16 => 2,
        IdxDataType.Int32 or IdxDataType.Float32 => 4,
        _ => 8,
    };
}
