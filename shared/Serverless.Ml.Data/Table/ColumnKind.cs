namespace Serverless.Ml.Data;

/// <summary>
/// The physical kind of a column. Kept small on purpose: it maps one-to-one onto what a tf.Example can
/// carry (int64_list, float_list, bytes_list) plus the fixed-shape float tensors images need.
/// </summary>
public enum ColumnKind
{
    /// <summary>64-bit signed integers (tf.Example int64_list).</summary>
    Int64,

    /// <summary>64-bit floats; written to tf.Example as float_list (float32, TensorFlow has no double list).</summary>
    Float64,

    /// <summary>UTF-8 text (tf.Example bytes_list holding valid UTF-8).</summary>
    String,

    /// <summary>Opaque bytes (tf.Example bytes_list).</summary>
    Bytes,

    /// <summary>A fixed-shape float32 tensor per row, e.g. a 28x28 image (tf.Example float_list of the flattened values).</summary>
    Float32Tensor,
}
