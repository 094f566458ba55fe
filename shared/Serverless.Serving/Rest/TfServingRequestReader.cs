using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Ml.Onnx;

namespace Serverless.Serving.Rest;

/// <summary>
/// Reads TF Serving's REST request bodies into validated <see cref="InferenceRequest"/>s with one forward
/// pass of <see cref="Utf8JsonReader"/> (no DOM, no reflection): predict (<c>instances</c> row format or
/// <c>inputs</c> columnar format) and classify/regress (<c>examples</c> plus shared <c>context</c>).
/// Every rejection is a 400 <see cref="ServingException"/> naming the field.
/// Values: finite numbers for float/double/int64 inputs (also null or "NaN" for float inputs whose graph
/// imputes NaN; infinities and numbers beyond the input type's range are rejected), true/false for bool, strings or <c>{"b64": "..."}</c> for string inputs. A
/// scalar stands for a row of shape [1] (a CSV column), so clients send the columns the CSV had.
/// </summary>
public static class TfServingRequestReader
{
    private const int MaxRank = 8;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <summary>Reads a <c>:predict</c> body; <paramref name="columnar"/> tells which format it used (the response uses the same).</summary>
    /// <exception cref="ServingException">400: malformed JSON or input not matching the signature.</exception>
    /// <param name="body">The request body.</param>
    /// <param name="signature">The served model's signature.</param>
    /// <param name="columnar">True for <c>inputs</c>, false for <c>instances</c>.</param>
    /// <param name="maxRows">Most rows accepted; more are answered with 413 as soon as the reader sees them.</param>
    public static InferenceRequest ReadPredict(in ReadOnlySequence<byte> body, ModelSignature signature, out bool columnar, int maxRows = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var request = new InferenceRequest(signature);
        try
        {
            var reader = new Utf8JsonReader(body, ReaderOptions);
            ReadStartObject(ref reader);
            bool instances = false, inputs = false;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                if (reader.ValueTextEquals("signature_name"u8)) ReadSignatureName(ref reader);
                else if (reader.ValueTextEquals("instances"u8))
                {
                    if (inputs || instances) throw Bad("A predict request has either 'instances' (row format) or 'inputs' (columnar format), not both.");
                    instances = true;
                    ReadInstances(ref reader, request, maxRows);
                }
                else if (reader.ValueTextEquals("inputs"u8))
                {
                    if (inputs || instances) throw Bad("A predict request has either 'instances' (row format) or 'inputs' (columnar format), not both.");
                    inputs = true;
                    ReadColumnar(ref reader, request, maxRows);
                }
                else throw Bad($"Unknown field '{reader.GetString()}' in the predict request (fields: signature_name, instances, inputs).");
            }
            ReadEnd(ref reader);
            if (!instances && !inputs) throw Bad("A predict request needs 'instances' (row format) or 'inputs' (columnar format).");
            columnar = inputs;
            return request;
        }
        catch (Exception e)
        {
            request.Dispose();
            throw Translate(e);
        }
    }

    /// <summary>Reads a <c>:classify</c> or <c>:regress</c> body: <c>examples</c> (feature maps) and optional <c>context</c> features shared by all.</summary>
    /// <exception cref="ServingException">400: malformed JSON or features not matching the signature.</exception>
    /// <param name="body">The request body.</param>
    /// <param name="signature">The served model's signature.</param>
    /// <param name="maxRows">Most examples accepted; more are answered with 413 as soon as the reader sees them.</param>
    public static InferenceRequest ReadExamples(in ReadOnlySequence<byte> body, ModelSignature signature, int maxRows = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var request = new InferenceRequest(signature);
        InferenceRequest? context = null;
        try
        {
            // First pass: the context (it may come after the examples, and each example row needs its values).
            var scan = new Utf8JsonReader(body, ReaderOptions);
            ReadStartObject(ref scan);
            while (scan.Read() && scan.TokenType != JsonTokenType.EndObject)
            {
                if (scan.ValueTextEquals("context"u8))
                {
                    context = new InferenceRequest(signature);
                    scan.Read();
                    if (scan.TokenType != JsonTokenType.StartObject) throw Bad("'context' must be an object of features.");
                    ReadRowObject(ref scan, context, "context", null, requireAll: false);
                    context.Rows = 1;
                }
                else
                {
                    scan.Read();
                    scan.Skip();
                }
            }

            var reader = new Utf8JsonReader(body, ReaderOptions);
            ReadStartObject(ref reader);
            var examples = false;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                if (reader.ValueTextEquals("signature_name"u8)) ReadSignatureName(ref reader);
                else if (reader.ValueTextEquals("context"u8))
                {
                    reader.Read();
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("examples"u8))
                {
                    examples = true;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray) throw Bad("'examples' must be a list of feature objects.");
                    var rows = 0;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (rows == maxRows) throw TooManyRows("examples", maxRows);
                        if (reader.TokenType != JsonTokenType.StartObject) throw Bad($"examples[{rows}] must be an object of features.");
                        ReadRowObject(ref reader, request, $"examples[{rows}]", context, requireAll: true);
                        rows++;
                    }
                    if (rows == 0) throw Bad("'examples' is empty.");
                    request.Rows = rows;
                }
                else throw Bad($"Unknown field '{reader.GetString()}' in the request (fields: signature_name, context, examples).");
            }
            ReadEnd(ref reader);
            if (!examples) throw Bad("The request needs 'examples'.");
            return request;
        }
        catch (Exception e)
        {
            request.Dispose();
            throw Translate(e);
        }
        finally
        {
            context?.Dispose();
        }
    }

    private static Exception Translate(Exception e) => e switch
    {
        ServingException => e,
        JsonException j => Bad($"Malformed JSON: {j.Message}"),
        FormatException f => Bad(f.Message),
        _ => e,
    };

    private static ServingException Bad(string message) => ServingException.BadRequest(message);

    private static ServingException TooManyRows(string field, int maxRows) =>
        new(413, $"'{field}' has more than {maxRows} rows, the limit per request (MaxRequestRows, --max-request-rows); send fewer rows per request.");

    private static void ReadStartObject(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw Bad("The request body must be a JSON object.");
    }

    private static void ReadEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read()) throw Bad("Unexpected content after the request object.");
    }

    private static void ReadSignatureName(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.String) throw Bad("'signature_name' must be a string.");
        if (!reader.ValueTextEquals(ModelSignature.DefaultSignatureName) && !reader.ValueTextEquals(""u8))
            throw Bad($"Unknown signature_name '{reader.GetString()}'; the model has '{ModelSignature.DefaultSignatureName}'.");
    }

    private static void ReadInstances(ref Utf8JsonReader reader, InferenceRequest request, int maxRows)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray) throw Bad("'instances' must be a list.");
        var inputs = request.Signature.Inputs;
        var rows = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (rows == maxRows) throw TooManyRows("instances", maxRows);
            if (inputs.Count == 1 && (reader.TokenType != JsonTokenType.StartObject || IsB64Object(reader)))
            {
                ReadRowValue(ref reader, request, 0, $"instances[{rows}]");
            }
            else if (reader.TokenType == JsonTokenType.StartObject)
            {
                ReadRowObject(ref reader, request, $"instances[{rows}]", null, requireAll: true);
            }
            else
            {
                throw Bad($"instances[{rows}] must be an object naming the inputs ({string.Join(", ", inputs.Select(i => i.Name))}).");
            }
            rows++;
        }
        if (rows == 0) throw Bad("'instances' is empty.");
        request.Rows = rows;
    }

    private static bool IsB64Object(Utf8JsonReader probe)
    {
        // A copy: looks one token ahead without moving the caller's reader.
        return probe.TokenType == JsonTokenType.StartObject && probe.Read() && probe.TokenType == JsonTokenType.PropertyName && probe.ValueTextEquals("b64"u8);
    }

    // Reads {name: value, ...} for one row. With a context, inputs absent here are taken from it.
    private static void ReadRowObject(ref Utf8JsonReader reader, InferenceRequest request, string where, InferenceRequest? context, bool requireAll)
    {
        var inputs = request.Signature.Inputs;
        Span<bool> seen = stackalloc bool[Math.Min(inputs.Count, 256)];
        bool[]? seenLarge = inputs.Count > 256 ? new bool[inputs.Count] : null;
        if (seenLarge is not null) seen = seenLarge;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var k = FindInput(ref reader, inputs);
            if (k < 0)
                throw Bad($"{where}: unknown input '{reader.GetString()}' (inputs: {string.Join(", ", inputs.Select(i => i.Name))}).");
            if (seen[k]) throw Bad($"{where}: input '{inputs[k].Name}' is given twice.");
            if (context is not null && context.Columns[k].Count > 0)
                throw Bad($"{where}: feature '{inputs[k].Name}' is also in 'context'; a feature belongs to one of them.");
            seen[k] = true;
            reader.Read();
            ReadRowValue(ref reader, request, k, $"{where}.{inputs[k].Name}");
        }
        if (!requireAll) return;
        for (var k = 0; k < inputs.Count; k++)
        {
            if (seen[k]) continue;
            if (context is not null && context.Columns[k].Count > 0)
            {
                CopyContext(context, request, k);
                continue;
            }
            throw Bad($"{where}: missing input '{inputs[k].Name}' (inputs: {string.Join(", ", inputs.Select(i => i.Name))}).");
        }
    }

    private static void CopyContext(InferenceRequest context, InferenceRequest request, int k)
    {
        var from = context.Columns[k];
        var to = request.Columns[k];
        request.RowShapes[k] ??= context.RowShapes[k];
        for (var i = 0; i < from.Count; i++)
        {
            switch (from.ElementType)
            {
                case OnnxElementType.Float: to.Add(from.Get<float>(i)); break;
                case OnnxElementType.Double: to.Add(from.Get<double>(i)); break;
                case OnnxElementType.Int64: to.Add(from.Get<long>(i)); break;
                case OnnxElementType.Bool: to.Add(from.Get<bool>(i)); break;
                default: to.Add(from.Get<string>(i)); break;
            }
        }
    }

    private static int FindInput(ref Utf8JsonReader reader, IReadOnlyList<TensorSpec> inputs)
    {
        for (var i = 0; i < inputs.Count; i++)
            if (reader.ValueTextEquals(inputs[i].Name)) return i;
        return -1;
    }

    // One row's value of input k: a scalar or nested lists matching the input's shape without the batch dimension.
    private static void ReadRowValue(ref Utf8JsonReader reader, InferenceRequest request, int k, string field)
    {
        var spec = request.Signature.Inputs[k];
        Span<long> dims = stackalloc long[MaxRank];
        var rank = ReadTensor(ref reader, request.Columns[k], spec, dims, field);
        var expected = spec.ExpectedRowShape;
        request.RowShapes[k] = Resolve(expected, dims[..rank], request.RowShapes[k], field, "per instance");
    }

    private static void ReadColumnar(ref Utf8JsonReader reader, InferenceRequest request, int maxRows)
    {
        reader.Read();
        var inputs = request.Signature.Inputs;
        if (reader.TokenType == JsonTokenType.StartObject && !(inputs.Count == 1 && IsB64Object(reader)))
        {
            Span<bool> seen = stackalloc bool[Math.Min(inputs.Count, 256)];
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var k = FindInput(ref reader, inputs);
                if (k < 0) throw Bad($"inputs: unknown input '{reader.GetString()}' (inputs: {string.Join(", ", inputs.Select(i => i.Name))}).");
                if (seen[k]) throw Bad($"inputs: input '{inputs[k].Name}' is given twice.");
                seen[k] = true;
                reader.Read();
                ReadColumn(ref reader, request, k, $"inputs.{inputs[k].Name}", maxRows);
            }
            for (var k = 0; k < inputs.Count; k++)
                if (!seen[k]) throw Bad($"inputs: missing input '{inputs[k].Name}' (inputs: {string.Join(", ", inputs.Select(i => i.Name))}).");
        }
        else if (inputs.Count == 1)
        {
            ReadColumn(ref reader, request, 0, "inputs", maxRows);
        }
        else
        {
            throw Bad($"'inputs' must be an object naming the inputs ({string.Join(", ", inputs.Select(i => i.Name))}).");
        }
    }

    // A whole column of input k: the batch dimension first.
    private static void ReadColumn(ref Utf8JsonReader reader, InferenceRequest request, int k, string field, int maxRows)
    {
        var spec = request.Signature.Inputs[k];
        Span<long> dims = stackalloc long[MaxRank];
        var rank = ReadTensor(ref reader, request.Columns[k], spec, dims, field);
        int rows;
        long[] rowShape;
        if (spec.Shape.Count == 0)
        {
            rows = 1;
            rowShape = Resolve([], dims[..rank], null, field, "");
        }
        else
        {
            if (rank == 0) throw Bad($"{field}: expected a list with one entry per row, got a scalar.");
            rows = checked((int)dims[0]);
            rowShape = Resolve(spec.ExpectedRowShape, dims[1..rank], null, field, "per row");
        }
        if (request.Rows != 0 && request.Rows != rows)
            throw Bad($"{field}: has {rows} rows; other inputs have {request.Rows}.");
        if (rows == 0) throw Bad($"{field}: has no rows.");
        if (rows > maxRows) throw TooManyRows(field, maxRows);
        request.Rows = rows;
        request.RowShapes[k] = rowShape;
    }

    // Checks an observed shape against the expected one (-1: any); a scalar stands for a shape of ones.
    private static long[] Resolve(long[] expected, ReadOnlySpan<long> observed, long[]? previous, string field, string unit)
    {
        long[] resolved;
        if (observed.Length == 0 && expected.All(d => d == 1)) resolved = expected;
        else if (observed.Length == expected.Length)
        {
            for (var d = 0; d < expected.Length; d++)
                if (expected[d] >= 0 && expected[d] != observed[d])
                    throw Bad($"{field}: expected shape {Format(expected)} {unit}, got {Format(observed)}.");
            resolved = observed.SequenceEqual(expected) ? expected : observed.ToArray();
        }
        else throw Bad($"{field}: expected shape {Format(expected)} {unit}, got {Format(observed)}.");
        if (previous is not null && !previous.AsSpan().SequenceEqual(resolved))
            throw Bad($"{field}: shape {Format(resolved)} differs from the other rows' {Format(previous)}.");
        return previous ?? resolved;
    }

    private static string Format(ReadOnlySpan<long> shape)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(shape[i] < 0 ? "?" : shape[i].ToString(CultureInfo.InvariantCulture));
        }
        return sb.Append(']').ToString();
    }

    // Reads a scalar or nested lists into the column; returns the rank and fills dims. Ragged lists are rejected.
    private static int ReadTensor(ref Utf8JsonReader reader, ColumnBuffer column, TensorSpec spec, scoped Span<long> dims, string field)
    {
        dims.Fill(-1);
        var leafDepth = -1;
        ReadNested(ref reader, column, spec, dims, 0, ref leafDepth, field);
        if (leafDepth >= 0) return leafDepth;
        var rank = 0;
        while (rank < dims.Length && dims[rank] >= 0) rank++;
        return rank;
    }

    private static void ReadNested(ref Utf8JsonReader reader, ColumnBuffer column, TensorSpec spec, scoped Span<long> dims, int depth, ref int leafDepth, string field)
    {
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            if (depth >= MaxRank) throw Bad($"{field}: lists nested deeper than {MaxRank}.");
            var count = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                ReadNested(ref reader, column, spec, dims, depth + 1, ref leafDepth, field);
                count++;
            }
            if (dims[depth] < 0) dims[depth] = count;
            else if (dims[depth] != count) throw Bad($"{field}: ragged lists (lengths {dims[depth]} and {count} at depth {depth}).");
            return;
        }
        if (leafDepth < 0) leafDepth = depth;
        else if (leafDepth != depth) throw Bad($"{field}: ragged lists (values at depths {leafDepth} and {depth}).");
        ReadLeaf(ref reader, column, spec, field);
    }

    private static void ReadLeaf(ref Utf8JsonReader reader, ColumnBuffer column, TensorSpec spec, string field)
    {
        switch (spec.ElementType)
        {
            case OnnxElementType.Float:
                column.Add((float)ReadFloating(ref reader, spec, field));
                break;
            case OnnxElementType.Double:
                column.Add(ReadFloating(ref reader, spec, field));
                break;
            case OnnxElementType.Int64:
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var l))
                    throw Bad($"{field}: input '{spec.Name}' is {spec.TensorFlowDType}; expected an integer, got {Describe(ref reader)}.");
                column.Add(l);
                break;
            case OnnxElementType.Bool:
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                    throw Bad($"{field}: input '{spec.Name}' is {spec.TensorFlowDType}; expected true or false, got {Describe(ref reader)}.");
                column.Add(reader.TokenType == JsonTokenType.True);
                break;
            case OnnxElementType.String:
                column.Add(ReadString(ref reader, spec, field));
                break;
            default:
                throw Bad($"{field}: input '{spec.Name}' has an unsupported type {spec.ElementType}.");
        }
    }

    private static double ReadFloating(ref Utf8JsonReader reader, TensorSpec spec, string field)
    {
        double value;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                // 1e309 parses as Infinity, and 1e39 becomes Infinity as a float: a model fed either answers NaN.
                if (!reader.TryGetDouble(out value) || !double.IsFinite(value)
                    || (spec.ElementType == OnnxElementType.Float && !float.IsFinite((float)value)))
                    throw NotFinite(ref reader, spec, field);
                return value;
            case JsonTokenType.Null:
                value = double.NaN;
                break;
            case JsonTokenType.String when reader.ValueTextEquals("NaN"u8) || reader.ValueTextEquals("nan"u8):
                value = double.NaN;
                break;
            case JsonTokenType.String when reader.ValueTextEquals("Infinity"u8) || reader.ValueTextEquals("inf"u8)
                || reader.ValueTextEquals("-Infinity"u8) || reader.ValueTextEquals("-inf"u8):
                throw NotFinite(ref reader, spec, field);
            default:
                throw Bad($"{field}: input '{spec.Name}' is {spec.TensorFlowDType}; expected a number, got {Describe(ref reader)}.");
        }
        if (!spec.AllowsNaN)
            throw Bad($"{field}: input '{spec.Name}' does not accept NaN or null (the model does not impute missing values).");
        return value;
    }

    private static ServingException NotFinite(ref Utf8JsonReader reader, TensorSpec spec, string field)
    {
        var raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray();
        var text = Encoding.UTF8.GetString(raw);
        if (reader.TokenType == JsonTokenType.String) text = $"\"{text}\"";
        return Bad($"{field}: {Truncate(text)} is not a finite {spec.TensorFlowDType} (input '{spec.Name}' takes finite numbers{(spec.AllowsNaN ? ", or null/\"NaN\" for a missing value" : "")}).");
    }

    private static string ReadString(ref Utf8JsonReader reader, TensorSpec spec, string field)
    {
        if (reader.TokenType == JsonTokenType.String) return reader.GetString()!;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Bad($"{field}: input '{spec.Name}' is {spec.TensorFlowDType}; expected a string or {{\"b64\": ...}}, got {Describe(ref reader)}.");
        reader.Read();
        if (reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("b64"u8))
            throw Bad($"{field}: an object value must be {{\"b64\": \"<base64>\"}}.");
        reader.Read();
        if (reader.TokenType != JsonTokenType.String) throw Bad($"{field}: 'b64' must be a base64 string.");
        byte[] bytes;
        try
        {
            bytes = reader.GetBytesFromBase64();
        }
        catch (FormatException)
        {
            throw Bad($"{field}: 'b64' is not valid base64.");
        }
        reader.Read();
        if (reader.TokenType != JsonTokenType.EndObject) throw Bad($"{field}: a b64 object has only the 'b64' field.");
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Bad($"{field}: the b64 bytes are not UTF-8 text, which ONNX string tensors hold.");
        }
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"the string \"{Truncate(reader.GetString())}\"",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        _ => reader.TokenType.ToString(),
    };

    private static string? Truncate(string? s) => s is { Length: > 40 } ? s[..40] + "..." : s;
}
