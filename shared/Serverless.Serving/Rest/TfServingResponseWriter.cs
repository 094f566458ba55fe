using System.Globalization;
using System.Text.Json;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Serving.Rest;

/// <summary>
/// Writes TF Serving's REST responses with <see cref="Utf8JsonWriter"/>: predictions (row) / outputs
/// (columnar), classify and regress results, model status, metadata and errors. Non-finite floats are
/// written as the strings "NaN", "Infinity", "-Infinity" (JSON has no literal for them); string outputs whose
/// name ends in <c>_bytes</c> are written as <c>{"b64": ...}</c>, as TF Serving does.
/// </summary>
public static class TfServingResponseWriter
{
    /// <summary>Writes <c>{"predictions": [...]}</c> (row format) or <c>{"outputs": ...}</c> (columnar).</summary>
    public static void WritePredict(Utf8JsonWriter writer, InferenceResult result, bool columnar)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        var outputs = result.Outputs;
        writer.WriteStartObject();
        if (columnar)
        {
            writer.WritePropertyName("outputs"u8);
            if (outputs.Count == 1) WriteRows(writer, result, 0);
            else
            {
                writer.WriteStartObject();
                for (var o = 0; o < outputs.Count; o++)
                {
                    writer.WritePropertyName(outputs[o].Name);
                    WriteRows(writer, result, o);
                }
                writer.WriteEndObject();
            }
        }
        else
        {
            writer.WritePropertyName("predictions"u8);
            writer.WriteStartArray();
            for (var r = 0; r < result.Rows; r++)
            {
                if (outputs.Count == 1) WriteRow(writer, result, 0, r);
                else
                {
                    writer.WriteStartObject();
                    for (var o = 0; o < outputs.Count; o++)
                    {
                        writer.WritePropertyName(outputs[o].Name);
                        WriteRow(writer, result, o, r);
                    }
                    writer.WriteEndObject();
                }
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes a classify response <c>{"result": [[[label, score], ...], ...]}</c> from the class-score output
    /// (the float output named probabilities/scores, else the first float output); labels come from the model's
    /// <c>class_labels</c> metadata, else class indices.
    /// </summary>
    /// <exception cref="ServingException">400 when the model has no float output to classify with.</exception>
    public static void WriteClassify(Utf8JsonWriter writer, InferenceResult result, ModelSignature signature)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(signature);
        var o = FindFloatOutput(result, ["probabilities", "scores", "probs"], requireSingle: false)
            ?? throw ServingException.BadRequest("The model has no float output to classify with.");
        var k = result.ElementsPerRow(o);
        var labels = signature.ClassLabels.Count == k ? signature.ClassLabels : null;
        writer.WriteStartObject();
        writer.WritePropertyName("result"u8);
        writer.WriteStartArray();
        for (var r = 0; r < result.Rows; r++)
        {
            writer.WriteStartArray();
            for (var c = 0; c < k; c++)
            {
                writer.WriteStartArray();
                if (labels is null) writer.WriteStringValue(c.ToString(CultureInfo.InvariantCulture));
                else writer.WriteStringValue(labels[c]);
                WriteScalar(writer, result.Outputs[o], (result.RowOffset + r) * k + c);
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Writes a regress response <c>{"result": [value, ...]}</c> from the model's single-value float output.</summary>
    /// <exception cref="ServingException">400 when the model has no float output with one value per row.</exception>
    public static void WriteRegress(Utf8JsonWriter writer, InferenceResult result)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        var o = FindFloatOutput(result, ["predictions", "prediction", "outputs", "value", "y"], requireSingle: true)
            ?? throw ServingException.BadRequest("The model has no float output with one value per row to regress with.");
        writer.WriteStartObject();
        writer.WritePropertyName("result"u8);
        writer.WriteStartArray();
        for (var r = 0; r < result.Rows; r++) WriteScalar(writer, result.Outputs[o], result.RowOffset + r);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Writes <c>{"model_version_status": [...]}</c>.</summary>
    public static void WriteStatus(Utf8JsonWriter writer, IReadOnlyList<ModelVersionStatus> statuses)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(statuses);
        writer.WriteStartObject();
        writer.WriteStartArray("model_version_status"u8);
        foreach (var s in statuses)
        {
            writer.WriteStartObject();
            writer.WriteString("version"u8, s.Version.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("state"u8, s.StateName);
            writer.WriteStartObject("status"u8);
            writer.WriteString("error_code"u8, s.ErrorCode);
            writer.WriteString("error_message"u8, s.ErrorMessage);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Writes TF Serving's GetModelMetadataResponse: model_spec and the <c>serving_default</c> signature_def.</summary>
    public static void WriteMetadata(Utf8JsonWriter writer, string model, long version, ModelSignature signature)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(signature);
        writer.WriteStartObject();
        writer.WriteStartObject("model_spec"u8);
        writer.WriteString("name"u8, model);
        writer.WriteString("signature_name"u8, "");
        writer.WriteString("version"u8, version.ToString(CultureInfo.InvariantCulture));
        writer.WriteEndObject();
        writer.WriteStartObject("metadata"u8);
        writer.WriteStartObject("signature_def"u8);
        writer.WriteStartObject("signature_def"u8);
        writer.WriteStartObject(ModelSignature.DefaultSignatureName);
        WriteTensorInfos(writer, "inputs", signature.Inputs);
        WriteTensorInfos(writer, "outputs", signature.Outputs);
        writer.WriteString("method_name"u8, "tensorflow/serving/predict");
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Writes <c>{"error": message}</c>.</summary>
    public static void WriteError(Utf8JsonWriter writer, string message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("error"u8, message);
        writer.WriteEndObject();
    }

    private static void WriteTensorInfos(Utf8JsonWriter writer, string property, IReadOnlyList<TensorSpec> specs)
    {
        writer.WriteStartObject(property);
        foreach (var spec in specs)
        {
            writer.WriteStartObject(spec.Name);
            writer.WriteString("dtype"u8, spec.TensorFlowDType);
            writer.WriteStartObject("tensor_shape"u8);
            writer.WriteStartArray("dim"u8);
            foreach (var d in spec.Shape)
            {
                writer.WriteStartObject();
                writer.WriteString("size"u8, d.ToString(CultureInfo.InvariantCulture));
                writer.WriteString("name"u8, "");
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteBoolean("unknown_rank"u8, false);
            writer.WriteEndObject();
            writer.WriteString("name"u8, spec.Name);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    private static int? FindFloatOutput(InferenceResult result, string[] preferred, bool requireSingle)
    {
        int? first = null;
        for (var o = 0; o < result.Outputs.Count; o++)
        {
            var t = result.Outputs[o].Tensor;
            if (t.ElementType is not (OnnxElementType.Float or OnnxElementType.Double)) continue;
            if (requireSingle && result.ElementsPerRow(o) != 1) continue;
            if (preferred.Contains(result.Outputs[o].Name, StringComparer.OrdinalIgnoreCase)) return o;
            first ??= o;
        }
        return first;
    }

    // All of the request's rows of output o, with the batch dimension.
    private static void WriteRows(Utf8JsonWriter writer, InferenceResult result, int o)
    {
        writer.WriteStartArray();
        for (var r = 0; r < result.Rows; r++) WriteRow(writer, result, o, r);
        writer.WriteEndArray();
    }

    // Row r (relative to the request) of output o, in the output's per-row shape.
    private static void WriteRow(Utf8JsonWriter writer, InferenceResult result, int o, int r)
    {
        var tensor = result.Outputs[o];
        var per = result.ElementsPerRow(o);
        var start = (result.RowOffset + r) * per;
        WriteNested(writer, tensor, 1, start);
    }

    private static int WriteNested(Utf8JsonWriter writer, NamedTensor tensor, int dim, int index)
    {
        var shape = tensor.Tensor.Shape;
        if (dim == shape.Count)
        {
            WriteScalar(writer, tensor, index);
            return index + 1;
        }
        writer.WriteStartArray();
        for (var i = 0; i < shape[dim]; i++) index = WriteNested(writer, tensor, dim + 1, index);
        writer.WriteEndArray();
        return index;
    }

    private static void WriteScalar(Utf8JsonWriter writer, NamedTensor named, int index)
    {
        var tensor = named.Tensor;
        switch (tensor.ElementType)
        {
            case OnnxElementType.Float:
                var f = tensor.GetData<float>()[index];
                if (float.IsFinite(f)) writer.WriteNumberValue(f);
                else writer.WriteStringValue(NonFinite(f));
                break;
            case OnnxElementType.Double:
                var d = tensor.GetData<double>()[index];
                if (double.IsFinite(d)) writer.WriteNumberValue(d);
                else writer.WriteStringValue(NonFinite(d));
                break;
            case OnnxElementType.Int64:
                writer.WriteNumberValue(tensor.GetData<long>()[index]);
                break;
            case OnnxElementType.Bool:
                writer.WriteBooleanValue(tensor.GetData<bool>()[index]);
                break;
            default:
                var s = tensor.GetData<string>()[index];
                if (named.Name.EndsWith("_bytes", StringComparison.Ordinal))
                {
                    writer.WriteStartObject();
                    writer.WriteBase64String("b64"u8, System.Text.Encoding.UTF8.GetBytes(s));
                    writer.WriteEndObject();
                }
                else writer.WriteStringValue(s);
                break;
        }
    }

    private static string NonFinite(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}
