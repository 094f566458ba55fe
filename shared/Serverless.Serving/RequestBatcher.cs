using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Serving;

/// <summary>
/// Stacks the rows of concurrent requests into one ONNX Runtime call and hands each request its slice of
/// the outputs (TF Serving's batching). One batcher per loaded version. A batch runs when it is full, when
/// every announced request (<see cref="Expect"/>) has been submitted, or when its oldest request has waited
/// <see cref="BatchingOptions.MaxWait"/>. The thread that completes a batch runs it, so an idle server adds
/// no thread hop: a lone request runs on its own thread at once.
/// </summary>
public sealed class RequestBatcher : IDisposable
{
    private readonly Func<IReadOnlyList<NamedTensor>, IReadOnlyList<NamedTensor>> _run;
    private readonly BatchingOptions _options;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly object _gate = new();
    private readonly List<Pending> _queue = [];
    private readonly long _maxWaitTicks;
    private int _queuedRows;
    private int _expected;
    private bool _running;
    private bool _timerArmed;
    private bool _disposed;

    /// <summary>Creates a batcher over <paramref name="run"/> (normally <see cref="InferenceSession.Run"/>).</summary>
    public RequestBatcher(Func<IReadOnlyList<NamedTensor>, IReadOnlyList<NamedTensor>> run, BatchingOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxWait, TimeSpan.Zero);
        _run = run;
        _options = options;
        _time = time ?? TimeProvider.System;
        _maxWaitTicks = (long)(options.MaxWait.TotalSeconds * _time.TimestampFrequency);
        _timer = _time.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Batches run so far (for tests and metrics).</summary>
    public long BatchesRun => Interlocked.Read(ref _batchesRun);

    private long _batchesRun;

    /// <summary>Rows run so far.</summary>
    public long RowsRun => Interlocked.Read(ref _rowsRun);

    private long _rowsRun;

    /// <summary>
    /// Announces a request that is being read and will be submitted with <c>expected: true</c> (or
    /// withdrawn with <see cref="Withdraw"/>), so a forming batch waits for it instead of running without it.
    /// </summary>
    public void Expect()
    {
        lock (_gate) _expected++;
    }

    /// <summary>Withdraws an announcement whose request failed before it was submitted.</summary>
    public void Withdraw()
    {
        bool run;
        lock (_gate)
        {
            _expected--;
            run = TryClaimLocked();
        }
        if (run) Drain();
    }

    /// <summary>
    /// Runs <paramref name="request"/>'s rows, stacked with other queued requests when it can be. The
    /// request's buffers must stay alive until the task completes.
    /// </summary>
    /// <param name="request">Validated rows.</param>
    /// <param name="expected">True when the request was announced with <see cref="Expect"/>.</param>
    public Task<InferenceResult> SubmitAsync(InferenceRequest request, bool expected = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_options.Enabled || request.Rows >= _options.MaxBatchSize || !request.Stackable)
        {
            if (expected) Withdraw();
            return RunAlone(request);
        }
        var pending = new Pending(request, _time.GetTimestamp());
        bool run;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (expected) _expected--;
            _queue.Add(pending);
            _queuedRows += request.Rows;
            run = TryClaimLocked();
        }
        if (run) Drain();
        return pending.Completion.Task;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        List<Pending> orphans;
        lock (_gate)
        {
            _disposed = true;
            orphans = [.. _queue];
            _queue.Clear();
        }
        _timer.Dispose();
        foreach (var p in orphans) p.Completion.TrySetException(new ObjectDisposedException(nameof(RequestBatcher), "The model version was unloaded."));
    }

    private Task<InferenceResult> RunAlone(InferenceRequest request)
    {
        try
        {
            var outputs = Execute([request], request.Rows);
            return Task.FromResult(new InferenceResult(outputs, 0, request.Rows, request.Rows));
        }
        catch (Exception e)
        {
            return Task.FromException<InferenceResult>(e);
        }
    }

    // Called under the lock: decides whether this thread should run the queue now, or arms the timer.
    private bool TryClaimLocked()
    {
        if (_running || _queue.Count == 0 || _disposed) return false;
        var now = _time.GetTimestamp();
        if (_queuedRows >= _options.MaxBatchSize || _expected <= 0 || now - _queue[0].Timestamp >= _maxWaitTicks)
        {
            _running = true;
            return true;
        }
        ArmLocked(now);
        return false;
    }

    private void ArmLocked(long now)
    {
        if (_timerArmed) return;
        _timerArmed = true;
        var remaining = Math.Max(0, _maxWaitTicks - (now - _queue[0].Timestamp));
        _timer.Change(TimeSpan.FromSeconds((double)remaining / _time.TimestampFrequency), Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        bool run;
        lock (_gate)
        {
            _timerArmed = false;
            if (_running || _queue.Count == 0 || _disposed) return;
            var now = _time.GetTimestamp();
            run = true;
            if (now - _queue[0].Timestamp < _maxWaitTicks && _queuedRows < _options.MaxBatchSize && _expected > 0)
            {
                ArmLocked(now);
                run = false;
            }
            else
            {
                _running = true;
            }
        }
        if (run) Drain();
    }

    private void Drain()
    {
        var batch = new List<Pending>();
        var requests = new List<InferenceRequest>();
        while (true)
        {
            batch.Clear();
            requests.Clear();
            var rows = 0;
            lock (_gate)
            {
                var take = 0;
                while (take < _queue.Count && (take == 0 || rows + _queue[take].Request.Rows <= _options.MaxBatchSize))
                {
                    rows += _queue[take].Request.Rows;
                    take++;
                }
                batch.AddRange(_queue.GetRange(0, take));
                _queue.RemoveRange(0, take);
                _queuedRows -= rows;
            }
            foreach (var p in batch) requests.Add(p.Request);
            try
            {
                var outputs = Execute(requests, rows);
                var offset = 0;
                foreach (var p in batch)
                {
                    p.Completion.TrySetResult(new InferenceResult(outputs, offset, p.Request.Rows, rows));
                    offset += p.Request.Rows;
                }
            }
            catch (Exception e)
            {
                foreach (var p in batch) p.Completion.TrySetException(e);
            }
            lock (_gate)
            {
                _running = false;
                if (!TryClaimLocked()) return;
            }
        }
    }

    private IReadOnlyList<NamedTensor> Execute(IReadOnlyList<InferenceRequest> requests, int rows)
    {
        var inputs = InferenceRequest.Stack(requests, rows);
        IReadOnlyList<NamedTensor> outputs;
        try
        {
            outputs = _run(inputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw ServingException.BadRequest(e.Message);
        }
        Interlocked.Increment(ref _batchesRun);
        Interlocked.Add(ref _rowsRun, rows);
        foreach (var o in outputs)
        {
            if (o.Tensor.Shape.Count == 0 || o.Tensor.Shape[0] != rows)
                throw ServingException.BadRequest($"Output '{o.Name}' has shape [{string.Join(',', o.Tensor.Shape)}]; the server needs the batch ({rows} rows) as its first dimension.");
        }
        return outputs;
    }

    private sealed class Pending(InferenceRequest request, long timestamp)
    {
        public InferenceRequest Request { get; } = request;

        public long Timestamp { get; } = timestamp;

        public TaskCompletionSource<InferenceResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One request's slice of a batch's outputs: rows [<see cref="RowOffset"/>, +<see cref="Rows"/>) of every output.</summary>
/// <param name="Outputs">The batch's outputs (shared by every request of the batch; do not modify).</param>
/// <param name="RowOffset">The request's first row in the batch.</param>
/// <param name="Rows">The request's row count.</param>
/// <param name="BatchRows">Rows in the whole batch.</param>
public sealed record InferenceResult(IReadOnlyList<NamedTensor> Outputs, int RowOffset, int Rows, int BatchRows)
{
    /// <summary>Elements of output <paramref name="index"/> per row.</summary>
    public int ElementsPerRow(int index) => (int)(Outputs[index].Tensor.ElementCount / BatchRows);
}
