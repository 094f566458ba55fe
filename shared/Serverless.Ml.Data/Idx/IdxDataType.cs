namespace Serverless.Ml.Data.Idx;

/// <summary>Element type of an IDX file (third magic byte).</summary>
public enum IdxDataType : byte
{
    /// <summary>Unsigned byte (MNIST pixels and labels).</summary>
    UInt8 = 0x08,

    /// <summary>Signed byte.</summary>
    Int8 = 0x09,

    /// <summary>Big-endian 16-bit integer.</summary>
    Int16 = 0x0B,

    /// <summary>Big-endian 32-bit integer.</summary>
    Int32 = 0x0C,

    /// <summary>Big-endian 32-bit float.</summary>
    Float32 = 0x0D,

    /// <summary>Big-endian 64-bit float.</summary>
    Float64 = 0x0E,
}
