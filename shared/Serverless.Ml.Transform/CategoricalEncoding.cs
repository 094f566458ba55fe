namespace Serverless.Ml.Transform;

/// <summary>How a categorical index (vocabulary, hash, bucketize, cross) becomes model input columns.</summary>
public enum CategoricalEncoding
{
    /// <summary>One column per category, 1 for the row's category; index -1 gives all zeros.</summary>
    OneHot,

    /// <summary>One column holding the index as a float (-1 when there is no category).</summary>
    Index,
}
