using System.Text.Json.Serialization;

namespace Serverless.Ml.Data.Statistics;

/// <summary>A feature's logical type, named as TFDV / TensorFlow Metadata name them.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FeatureType>))]
public enum FeatureType
{
    /// <summary>Integers.</summary>
    INT,

    /// <summary>Floats (also fixed-shape float tensors, whose values are flattened).</summary>
    FLOAT,

    /// <summary>UTF-8 text.</summary>
    STRING,

    /// <summary>Opaque bytes.</summary>
    BYTES,
}
