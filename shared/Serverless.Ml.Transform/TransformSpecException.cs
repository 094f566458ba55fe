namespace Serverless.Ml.Transform;

/// <summary>
/// A spec does not fit the data's schema (a missing column, a numeric scaler on a string, ...). Thrown before the
/// full pass, so a bad spec costs no read of the data.
/// </summary>
public sealed class TransformSpecException : Exception
{
    /// <summary>Creates the exception from the problems found.</summary>
    public TransformSpecException(IReadOnlyList<TransformSpecError> errors)
        : base("invalid transform spec:\n  " + string.Join("\n  ", errors ?? []))
    {
        Errors = errors ?? [];
    }

    /// <summary>Creates the exception.</summary>
    public TransformSpecException() : this([]) { }

    /// <summary>Creates the exception with a message.</summary>
    public TransformSpecException(string message) : base(message) => Errors = [];

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TransformSpecException(string message, Exception inner) : base(message, inner) => Errors = [];

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<TransformSpecError> Errors { get; }
}
