using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Serving;

/// <summary>
/// A loaded, servable model version: session, signature and batcher, reference-counted so that an unloaded
/// version is released only after its in-flight requests finish. The manager holds one reference while the
/// version is loaded; each request holds one through a <see cref="ServableHandle"/>.
/// </summary>
public sealed class ServableVersion
{
    private readonly LoadedModel _model;
    private readonly Action<ServableVersion> _released;
    private int _references = 1;

    internal ServableVersion(string model, long version, LoadedModel loaded, BatchingOptions batching, TimeProvider time, Action<ServableVersion> released)
    {
        Model = model;
        Version = version;
        _model = loaded;
        _released = released;
        Batcher = new RequestBatcher(inputs => loaded.Session.Run(inputs), batching, time);
    }

    /// <summary>The model name.</summary>
    public string Model { get; }

    /// <summary>The version number.</summary>
    public long Version { get; }

    /// <summary>The signature.</summary>
    public ModelSignature Signature => _model.Signature;

    /// <summary>The session (thread-safe); most callers go through <see cref="Batcher"/>.</summary>
    public InferenceSession Session => _model.Session;

    /// <summary>The request batcher of this version.</summary>
    public RequestBatcher Batcher { get; }

    /// <summary>Current references (the manager's plus in-flight requests'); 0 once released.</summary>
    public int References => Volatile.Read(ref _references);

    internal bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current) return true;
            current = seen;
        }
        return false;
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        Batcher.Dispose();
        _model.Dispose();
        _released(this);
    }
}

/// <summary>
/// A request's reference to a <see cref="ServableVersion"/>; dispose it exactly once, when the response no
/// longer needs the version. While any handle is open the version is not released.
/// </summary>
public readonly struct ServableHandle : IDisposable
{
    internal ServableHandle(ServableVersion servable) => Servable = servable;

    /// <summary>The version this handle keeps alive.</summary>
    public ServableVersion Servable { get; }

    /// <inheritdoc />
    public void Dispose() => Servable?.Release();
}
