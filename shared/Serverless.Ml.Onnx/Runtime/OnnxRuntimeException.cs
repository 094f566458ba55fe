namespace Serverless.Ml.Onnx.Runtime;

/// <summary>
/// An error reported by ONNX Runtime. <see cref="Exception.Message"/> says what we were doing (e.g. which
/// model file) followed by ORT's own message, which is also kept alone in <see cref="RuntimeMessage"/>; the
/// package's exception is the <see cref="Exception.InnerException"/>. Callers catch this one type, so they
/// need not import the package's namespace, whose type names (InferenceSession, NodeMetadata) match ours.
/// </summary>
public sealed class OnnxRuntimeException : Exception
{
    /// <summary>Creates the exception around the package's.</summary>
    public OnnxRuntimeException(string message, Microsoft.ML.OnnxRuntime.OnnxRuntimeException inner)
        : base(message, inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        RuntimeMessage = inner.Message;
    }

    /// <summary>ONNX Runtime's message without our context, e.g. <c>[ErrorCode:InvalidArgument] Got invalid dimensions ...</c>.</summary>
    public string RuntimeMessage { get; }
}
