using Google.Protobuf;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Serving;

/// <summary>
/// Loads a model the way the server does: parses the ONNX file, opens an ONNX Runtime session and reads
/// the signature. InfraValidator calls <see cref="TryLoad"/> in its own process to prove a candidate loads
/// in the serving runtime before the Pusher publishes it.
/// </summary>
public static class ModelLoader
{
    /// <summary>Element types the server can feed from JSON.</summary>
    private static readonly OnnxElementType[] SupportedInputTypes =
        [OnnxElementType.Float, OnnxElementType.Double, OnnxElementType.Int64, OnnxElementType.String, OnnxElementType.Bool];

    /// <summary>Loads and discards a model; returns its signature, or the error that would put the version in state END.</summary>
    public static ModelLoadResult TryLoad(byte[] model)
    {
        try
        {
            using var loaded = Load(model, new InferenceSessionOptions { IntraOpThreads = 1 });
            return new ModelLoadResult(loaded.Signature, null);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or InvalidProtocolBufferException or ArgumentException or NotSupportedException)
        {
            return new ModelLoadResult(null, e.Message);
        }
    }

    /// <summary>Loads a model for serving.</summary>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, or has inputs the server cannot feed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the model.</exception>
    public static LoadedModel Load(byte[] model, InferenceSessionOptions? options = null, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Length == 0) throw new InvalidDataException("The model file is empty.");
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(model);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"The model file is not an ONNX model: {e.Message}", e);
        }
        if (proto.Graph is null) throw new InvalidDataException("The model file has no graph.");
        var session = InferenceSession.FromBytes(model, options ?? new InferenceSessionOptions { IntraOpThreads = 1 }, sourceName);
        try
        {
            return new LoadedModel(session, ReadSignature(session, proto));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static ModelSignature ReadSignature(InferenceSession session, ModelProto proto)
    {
        var nanTested = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in proto.Graph.Node)
            if (node.OpType == "IsNaN" && node.Input.Count > 0) nanTested.Add(node.Input[0]);
        var inputs = new List<TensorSpec>();
        foreach (var m in session.Inputs)
        {
            if (Array.IndexOf(SupportedInputTypes, m.ElementType) < 0)
                throw new InvalidDataException($"Input '{m.Name}' has element type {m.ElementType}; the server feeds Float, Double, Int64, String and Bool.");
            inputs.Add(new TensorSpec(m.Name, m.ElementType, m.Shape.ToArray(), nanTested.Contains(m.Name)));
        }
        if (inputs.Count == 0) throw new InvalidDataException("The model has no inputs.");
        var outputs = session.Outputs.Select(m => new TensorSpec(m.Name, m.ElementType, m.Shape.ToArray(), AllowsNaN: true)).ToList();
        return new ModelSignature(inputs, outputs, ModelClassLabels.Read(proto));
    }
}

/// <summary>The outcome of <see cref="ModelLoader.TryLoad"/>: a signature, or the error text.</summary>
/// <param name="Signature">The signature when the model loaded.</param>
/// <param name="Error">ONNX Runtime's or the loader's reason when it did not.</param>
public sealed record ModelLoadResult(ModelSignature? Signature, string? Error)
{
    /// <summary>True when the model loaded.</summary>
    public bool Succeeded => Signature is not null;
}

/// <summary>A session with its signature; disposing releases the session.</summary>
public sealed class LoadedModel : IDisposable
{
    internal LoadedModel(InferenceSession session, ModelSignature signature)
    {
        Session = session;
        Signature = signature;
    }

    /// <summary>The ONNX Runtime session (thread-safe).</summary>
    public InferenceSession Session { get; }

    /// <summary>The signature read at load.</summary>
    public ModelSignature Signature { get; }

    /// <inheritdoc />
    public void Dispose() => Session.Dispose();
}
