namespace Serverless.Ml.Onnx.Graph;

/// <summary>
/// The ONNX versions this library writes. Opset 17 with IR 8 is the default because it is what ONNX 1.12
/// (Debian's python3-onnx, our cross-check) understands and what ONNX Runtime 1.30 runs; newer opsets are
/// accepted up to <see cref="MaxOpset"/>, with the IR version that ONNX released alongside them.
/// </summary>
public static class OnnxVersions
{
    /// <summary>The default-domain (ai.onnx) opset written unless the caller asks for another.</summary>
    public const int DefaultOpset = 17;

    /// <summary>The lowest supported opset: the op helpers use opset-13+ forms (axes as inputs).</summary>
    public const int MinOpset = 17;

    /// <summary>The highest supported opset: the op helpers' semantics are unchanged between 17 and 21.</summary>
    public const int MaxOpset = 21;

    /// <summary>The ai.onnx.ml opset imported when a graph uses an ML-domain op (LabelEncoder-2).</summary>
    public const int MlOpset = 3;

    /// <summary>The domain name of the classical-ML operator set.</summary>
    public const string MlDomain = "ai.onnx.ml";

    /// <summary>
    /// ONNX Runtime's contrib operator domain. Only <c>MurmurHash3</c> is used from it (string hashing, which no
    /// standard operator can do); a model that uses it runs in ONNX Runtime, not in other ONNX runtimes.
    /// </summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>The com.microsoft opset imported when a graph uses a contrib op.</summary>
    public const int MicrosoftOpset = 1;

    /// <summary>The opset imported for a non-default <paramref name="domain"/>, or null when this library does not write that domain.</summary>
    public static int? DomainOpset(string domain) => domain switch
    {
        MlDomain => MlOpset,
        MicrosoftDomain => MicrosoftOpset,
        _ => null,
    };

    /// <summary>Producer name written into models.</summary>
    public const string ProducerName = "Serverless.Ml.Onnx";

    /// <summary>
    /// The IR version released with <paramref name="opset"/> (ONNX 1.12: 17/IR 8, 1.13: 18/IR 8,
    /// 1.14: 19/IR 9, 1.15: 20/IR 9, 1.16: 21/IR 10). Writing the matching IR, not the newest, keeps
    /// files loadable by older readers.
    /// </summary>
    public static int IrVersionFor(int opset)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(opset, MinOpset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(opset, MaxOpset);
        return opset switch
        {
            <= 18 => 8,
            <= 20 => 9,
            _ => 10,
        };
    }
}
