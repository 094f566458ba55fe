using System.Globalization;

namespace Serverless.Ml.Components.ExampleValidator;

/// <summary>
/// Thrown by ExampleValidator when <c>fail_on_anomalies</c> is set and anomalies were found: the node fails with this
/// message (recorded as the execution's error) and nothing downstream runs.
/// </summary>
public sealed class DataAnomaliesException : Exception
{
    /// <summary>Creates the exception from the anomalies found, one line each (the first 20 are listed).</summary>
    public DataAnomaliesException(long count, IReadOnlyList<string> anomalies)
        : base(string.Create(CultureInfo.InvariantCulture, $"{count} data anomalies found (fail_on_anomalies is set): {string.Join("; ", (anomalies ?? []).Take(20))}"))
    {
        Count = count;
    }

    /// <summary>Creates the exception with a message.</summary>
    public DataAnomaliesException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public DataAnomaliesException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public DataAnomaliesException()
    {
    }

    /// <summary>How many anomalies were found.</summary>
    public long Count { get; }
}
