namespace Serverless.Ml.Transform;

/// <summary>What one output feature computes from its raw column.</summary>
public enum FeatureKind
{
    /// <summary>The numeric value as a float (after optional fill, clip and log1p).</summary>
    Passthrough,

    /// <summary>(x - mean) / std_dev over the train split (population std dev; 1 when it is 0).</summary>
    ZScore,

    /// <summary>(x - min) / (max - min) over the train split (range 1 when it is 0).</summary>
    MinMax,

    /// <summary>Bucket index by quantile boundaries fitted on the train split (tf.Transform's bucketize).</summary>
    Bucketize,

    /// <summary>Index in a fitted vocabulary (string or int64), with top_k, frequency threshold and OOV buckets.</summary>
    Vocabulary,

    /// <summary>A stable hash of the value modulo <see cref="FeatureSpec.HashBuckets"/>.</summary>
    Hash,

    /// <summary>The cross of two or more categorical features (their indices combined, optionally hashed).</summary>
    Cross,

    /// <summary>A fixed-shape float tensor scaled from [ImageMin, ImageMax] to [0, 1], flattened.</summary>
    Image,
}
