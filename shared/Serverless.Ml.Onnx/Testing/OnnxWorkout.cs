using System.Globalization;
using System.Text;
using Google.Protobuf;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Ml.Onnx.Testing;

/// <summary>A model failed the workout; the message lists what differed.</summary>
public sealed class OnnxWorkoutException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxWorkoutException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    public OnnxWorkoutException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The shared "workout" every ONNX exporter must pass (ML.NET's TestEstimatorCore in spirit): the model
/// bytes are parsed, saved to a file, reloaded, loaded by ONNX Runtime from that file, run twice on the
/// same session, and every output compared with a reference computed in C#. Framework-neutral: it throws
/// <see cref="OnnxWorkoutException"/>, which any test framework reports as a failure.
/// </summary>
/// <remarks>
/// Floating-point outputs match when |actual - expected| &lt;= tolerance * max(1, |expected|) (absolute near
/// zero, relative for large values); NaN matches NaN. Int64, bool and string outputs must be equal.
/// Expected outputs must have the element type and shape ORT produces.
/// </remarks>
public static class OnnxWorkout
{
    /// <summary>The default tolerance, 1e-5.</summary>
    public const double DefaultTolerance = 1e-5;

    /// <summary>Runs the workout on a builder's model.</summary>
    public static IReadOnlyList<NamedTensor> AssertMatches(OnnxGraphBuilder builder, IReadOnlyList<NamedTensor> inputs,
        IReadOnlyList<NamedTensor> expectedOutputs, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return AssertMatches(builder.ToBytes(), inputs, expectedOutputs, tolerance);
    }

    /// <summary>Runs the workout on a model message.</summary>
    public static IReadOnlyList<NamedTensor> AssertMatches(ModelProto model, IReadOnlyList<NamedTensor> inputs,
        IReadOnlyList<NamedTensor> expectedOutputs, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(model);
        return AssertMatches(model.ToByteArray(), inputs, expectedOutputs, tolerance);
    }

    /// <summary>
    /// Runs the workout on serialized model bytes; returns ORT's outputs (in the order of
    /// <paramref name="expectedOutputs"/>) for further checks.
    /// </summary>
    /// <exception cref="OnnxWorkoutException">Any step fails or an output differs.</exception>
    public static IReadOnlyList<NamedTensor> AssertMatches(byte[] modelBytes, IReadOnlyList<NamedTensor> inputs,
        IReadOnlyList<NamedTensor> expectedOutputs, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(modelBytes);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(expectedOutputs);
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        if (expectedOutputs.Count == 0) throw new ArgumentException("Give at least one expected output.", nameof(expectedOutputs));

        ModelProto model;
        try
        {
            model = OnnxModelFile.Parse(modelBytes);
        }
        catch (InvalidDataException e)
        {
            throw new OnnxWorkoutException("The model bytes do not parse as ONNX: " + e.Message, e);
        }

        var path = Path.Combine(Path.GetTempPath(), $"onnx-workout-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxModelFile.Save(model, path);
            var reloaded = File.ReadAllBytes(path);
            if (!OnnxModelFile.Parse(reloaded).Equals(model))
                throw new OnnxWorkoutException("The model changed across save -> reload.");

            InferenceSession session;
            try
            {
                session = InferenceSession.FromFile(path);
            }
            catch (OnnxRuntimeException e)
            {
                throw new OnnxWorkoutException("ONNX Runtime rejected the model: " + e.Message, e);
            }
            using (session)
            {
                var names = expectedOutputs.Select(o => o.Name).ToArray();
                var first = session.Run(inputs, names);
                var second = session.Run(inputs, names);
                var errors = new StringBuilder();
                for (var i = 0; i < names.Length; i++)
                {
                    Compare(names[i], expectedOutputs[i].Tensor, first[i].Tensor, tolerance, errors);
                    var rerun = new StringBuilder();
                    // A few float ulps apart is allowed: ORT splits element-wise kernels across threads differently from run to
                    // run, and a vectorised chunk and a scalar tail round differently (seen: Log, 1 ulp). State leaking
                    // between runs shows as far larger differences.
                    Compare(names[i], first[i].Tensor, second[i].Tensor, 1e-6, rerun);
                    if (rerun.Length > 0) errors.Append("Second run on the same session differs from the first: ").Append(rerun);
                }
                if (errors.Length > 0)
                    throw new OnnxWorkoutException($"ONNX Runtime's outputs differ from the reference (tolerance {tolerance.ToString(CultureInfo.InvariantCulture)}):\n{errors}");
                return first;
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Compare(string name, OnnxTensor expected, OnnxTensor actual, double tolerance, StringBuilder errors)
    {
        if (expected.ElementType != actual.ElementType)
        {
            errors.AppendLine($"'{name}': element type {actual.ElementType}, expected {expected.ElementType}.");
            return;
        }
        if (!expected.Shape.SequenceEqual(actual.Shape))
        {
            errors.AppendLine($"'{name}': shape [{string.Join(',', actual.Shape)}], expected [{string.Join(',', expected.Shape)}].");
            return;
        }
        var mismatches = 0;
        void Report(long index, string exp, string act)
        {
            if (++mismatches <= 5) errors.AppendLine($"'{name}'[{index}]: {act}, expected {exp}.");
        }
        switch (expected.ElementType)
        {
            case OnnxElementType.Float:
                CompareFloats(expected.GetData<float>().Select(v => (double)v).ToArray(), actual.GetData<float>().Select(v => (double)v).ToArray(), tolerance, Report);
                break;
            case OnnxElementType.Double:
                CompareFloats(expected.GetData<double>(), actual.GetData<double>(), tolerance, Report);
                break;
            case OnnxElementType.Int64:
                CompareExact(expected.GetData<long>(), actual.GetData<long>(), Report);
                break;
            case OnnxElementType.Bool:
                CompareExact(expected.GetData<bool>(), actual.GetData<bool>(), Report);
                break;
            case OnnxElementType.String:
                CompareExact(expected.GetData<string>(), actual.GetData<string>(), Report);
                break;
            default:
                errors.AppendLine($"'{name}': cannot compare element type {expected.ElementType}.");
                break;
        }
        if (mismatches > 5) errors.AppendLine($"'{name}': {mismatches} elements differ in all.");
    }

    private static void CompareFloats(double[] expected, double[] actual, double tolerance, Action<long, string, string> report)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            var same = double.IsNaN(e) ? double.IsNaN(a)
                : double.IsInfinity(e) ? e == a
                : Math.Abs(a - e) <= tolerance * Math.Max(1.0, Math.Abs(e));
            if (!same) report(i, e.ToString("R", CultureInfo.InvariantCulture), a.ToString("R", CultureInfo.InvariantCulture));
        }
    }

    private static void CompareExact<T>(T[] expected, T[] actual, Action<long, string, string> report)
    {
        var comparer = EqualityComparer<T>.Default;
        for (var i = 0; i < expected.Length; i++)
            if (!comparer.Equals(expected[i], actual[i]))
                report(i, Convert.ToString(expected[i], CultureInfo.InvariantCulture) ?? "null", Convert.ToString(actual[i], CultureInfo.InvariantCulture) ?? "null");
    }
}
