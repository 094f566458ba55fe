using System.Diagnostics;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// A point in real (monotonic) time for waits: receive timeouts, session idle timeouts, client waits. The service's
/// <see cref="TimeProvider"/> dates locks and messages; waits must end even when a test's fake clock stands still.
/// </summary>
internal readonly struct Deadline
{
    private readonly long _at; // Stopwatch timestamp; long.MaxValue: never

    public Deadline(TimeSpan after) =>
        _at = after == TimeSpan.MaxValue || after < TimeSpan.Zero
            ? long.MaxValue
            : Stopwatch.GetTimestamp() + (long)(after.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Time left (zero or negative once passed); <see cref="TimeSpan.MaxValue"/> for a deadline that never comes.</summary>
    public TimeSpan Remaining => _at == long.MaxValue
        ? TimeSpan.MaxValue
        : TimeSpan.FromSeconds((double)(_at - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
}
