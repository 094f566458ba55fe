namespace Serverless.Durable.Backend;

/// <summary>
/// A broadcast wake-up for dispatchers: producers <see cref="Pulse"/> it when they create work, and a
/// dispatcher that found no work waits until the generation it saw changes or a timeout passes.
/// Reading <see cref="Generation"/> before looking for work closes the race between "found none" and "wait".
/// </summary>
public sealed class WorkSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _generation;

    /// <summary>The current generation; it increases with every pulse.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Wakes every waiter.</summary>
    public void Pulse()
    {
        TaskCompletionSource old;
        lock (_lock)
        {
            _generation++;
            old = _tcs;
            _tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        old.TrySetResult();
    }

    /// <summary>Waits until the generation differs from <paramref name="seenGeneration"/> or <paramref name="maxWait"/> passes.</summary>
    public async Task WaitAsync(long seenGeneration, TimeSpan maxWait, CancellationToken cancellation = default)
    {
        Task task;
        lock (_lock)
        {
            if (_generation != seenGeneration) return;
            task = _tcs.Task;
        }
        try
        {
            await task.WaitAsync(maxWait, cancellation).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Polling interval elapsed: the caller looks for work created by other processes.
        }
    }
}
