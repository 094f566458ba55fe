namespace Serverless.Ml.Onnx.Runtime;

/// <summary>ONNX Runtime's error codes (OrtErrorCode in the C API).</summary>
public enum OrtErrorCode
{
    /// <summary>Success (never thrown).</summary>
    Ok = 0,
    /// <summary>Generic failure.</summary>
    Fail = 1,
    /// <summary>A bad argument: wrong input name, type or shape.</summary>
    InvalidArgument = 2,
    /// <summary>The model file does not exist.</summary>
    NoSuchFile = 3,
    /// <summary>No model loaded.</summary>
    NoModel = 4,
    /// <summary>Execution engine failure.</summary>
    EngineError = 5,
    /// <summary>A kernel threw while running.</summary>
    RuntimeException = 6,
    /// <summary>The bytes are not a valid ONNX protobuf.</summary>
    InvalidProtobuf = 7,
    /// <summary>A model is already loaded.</summary>
    ModelLoaded = 8,
    /// <summary>An op or type is not implemented (e.g. an unsupported opset).</summary>
    NotImplemented = 9,
    /// <summary>The graph is invalid (type or shape inference failed, unknown op, dangling name).</summary>
    InvalidGraph = 10,
    /// <summary>Execution provider failure.</summary>
    EpFail = 11,
}

/// <summary>
/// An error reported by ONNX Runtime. <see cref="Exception.Message"/> says what we were doing (e.g. which
/// model file) followed by ORT's own message, which is also kept alone in <see cref="RuntimeMessage"/>.
/// </summary>
public sealed class OnnxRuntimeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxRuntimeException(OrtErrorCode errorCode, string message, string runtimeMessage)
        : base(message)
    {
        ErrorCode = errorCode;
        RuntimeMessage = runtimeMessage;
    }

    /// <summary>ONNX Runtime's error code.</summary>
    public OrtErrorCode ErrorCode { get; }

    /// <summary>ONNX Runtime's message, without our context.</summary>
    public string RuntimeMessage { get; }
}
