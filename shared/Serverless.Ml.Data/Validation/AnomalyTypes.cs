namespace Serverless.Ml.Data.Validation;

/// <summary>Anomaly type names (TFDV's, so people and tools recognize them).</summary>
public static class AnomalyTypes
{
    /// <summary>A required feature is absent.</summary>
    public const string MissingColumn = "SCHEMA_MISSING_COLUMN";

    /// <summary>A feature the schema does not know.</summary>
    public const string NewColumn = "SCHEMA_NEW_COLUMN";

    /// <summary>The type differs from the schema, or changed between shards.</summary>
    public const string UnexpectedDataType = "UNEXPECTED_DATA_TYPE";

    /// <summary>Text values outside the string domain.</summary>
    public const string UnexpectedStringValues = "ENUM_TYPE_UNEXPECTED_STRING_VALUES";

    /// <summary>Text values that were not valid UTF-8 (TFDV's name).</summary>
    public const string InvalidUtf8 = "ENUM_TYPE_INVALID_UTF8";

    /// <summary>Text values holding NUL characters (ours: TFDV has no such check).</summary>
    public const string NulCharacters = "ENUM_TYPE_NUL_CHARACTERS";

    /// <summary>An integer below the domain.</summary>
    public const string SmallInt = "INT_TYPE_SMALL_INT";

    /// <summary>An integer above the domain.</summary>
    public const string BigInt = "INT_TYPE_BIG_INT";

    /// <summary>A float below the domain.</summary>
    public const string SmallFloat = "FLOAT_TYPE_SMALL_FLOAT";

    /// <summary>A float above the domain.</summary>
    public const string BigFloat = "FLOAT_TYPE_BIG_FLOAT";

    /// <summary>NaNs where the schema disallows them.</summary>
    public const string HasNan = "FLOAT_TYPE_HAS_NAN";

    /// <summary>Present in too small a fraction of examples.</summary>
    public const string LowFractionPresent = "FEATURE_TYPE_LOW_FRACTION_PRESENT";

    /// <summary>Present in too few examples.</summary>
    public const string LowNumberPresent = "FEATURE_TYPE_LOW_NUMBER_PRESENT";

    /// <summary>Too few values per example.</summary>
    public const string LowNumberValues = "FEATURE_TYPE_LOW_NUMBER_VALUES";

    /// <summary>Too many values per example.</summary>
    public const string HighNumberValues = "FEATURE_TYPE_HIGH_NUMBER_VALUES";

    /// <summary>Too few examples.</summary>
    public const string LowNumExamples = "DATASET_LOW_NUM_EXAMPLES";

    /// <summary>Categorical drift/skew above the L-infinity threshold.</summary>
    public const string LInftyHigh = "COMPARATOR_L_INFTY_HIGH";

    /// <summary>Numeric drift/skew above the Jensen-Shannon threshold.</summary>
    public const string JensenShannonHigh = "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH";
}
