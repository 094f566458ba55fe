namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// An auto-reset wake-up signal that waiters await with a timeout. A pulse that arrives while nobody waits is
/// remembered, so a waiter never sleeps through work that was announced just before it started waiting.
/// </summary>
internal sealed class AsyncSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource? _waiter;
    private bool _set;
    private long _version;

    /// <summary>
    /// Counts pulses. A reader that saw nothing to do at version v need not look again while the version is still v:
    /// nothing was announced since (read the version before looking, so that a pulse during the look is not missed).
    /// </summary>
    public long Version => Volatile.Read(ref _version);

    /// <summary>Wakes one current waiter, or the next one to arrive.</summary>
    public void Pulse()
    {
        Interlocked.Increment(ref _version);
        TaskCompletionSource? toWake;
        lock (_lock)
        {
            toWake = _waiter;
            _waiter = null;
            if (toWake == null) _set = true;
        }
        toWake?.TrySetResult();
    }

    /// <summary>Waits for a pulse, the timeout or cancellation; true when pulsed.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellation)
    {
        TaskCompletionSource tcs;
        lock (_lock)
        {
            if (_set)
            {
                _set = false;
                return true;
            }
            if (timeout <= TimeSpan.Zero) return false;
            // Several waiters share one completion source: a pulse wakes all of them, and each re-checks its work.
            tcs = _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        // WaitAsync disposes its timer as soon as the signal arrives (a plain Task.Delay would linger until the timeout).
        await tcs.Task.WaitAsync(timeout, cancellation).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return tcs.Task.IsCompleted;
    }
}
