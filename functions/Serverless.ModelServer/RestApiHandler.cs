using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Serving;
using Serverless.Serving.Rest;

namespace Serverless.ModelServer;

/// <summary>
/// TensorFlow Serving's REST API as one terminal request delegate: routes are parsed by hand from the path
/// (<c>/v1/models/{name}[/versions/{v}|/labels/{l}][/metadata|:predict|:classify|:regress]</c>), bodies are
/// read from the request pipe without copying and parsed with Utf8JsonReader, responses are written with
/// Utf8JsonWriter into a pooled buffer and sent with a Content-Length. No MVC, no per-request reflection.
/// Limits (<see cref="ModelServerOptions"/>): body bytes, rows per request and response bytes, each answered with 413
/// naming the setting; with an access key, requests without it get 401 before anything else is read.
/// </summary>
public sealed class RestApiHandler
{
    private const string Prefix = "/v1/models/";
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly ModelVersionManager _manager;
    private readonly long _maxBodyBytes;
    private readonly int _maxRows;
    private readonly int _maxResponseBytes;
    private readonly byte[]? _keyHash;

    /// <summary>Creates the handler with the limits and access key of <paramref name="options"/>.</summary>
    public RestApiHandler(ModelVersionManager manager, ModelServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRequestBodyBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRequestRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxResponseBytes, 1024);
        _manager = manager;
        _maxBodyBytes = options.MaxRequestBodyBytes;
        _maxRows = options.MaxRequestRows;
        _maxResponseBytes = options.MaxResponseBytes;
        if (options.AccessKey is not null)
        {
            if (string.IsNullOrWhiteSpace(options.AccessKey)) throw new ArgumentException("The access key is empty.", nameof(options));
            _keyHash = SHA256.HashData(Encoding.UTF8.GetBytes(options.AccessKey));
        }
    }

    /// <summary>Handles one request.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            if (_keyHash is not null && !HasKey(context.Request))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"model server\"";
                throw new ServingException(401, "This model server needs its access key: send 'Authorization: Bearer <key>' or 'x-functions-key: <key>'.");
            }
            await DispatchAsync(context);
        }
        catch (ServingException e)
        {
            await WriteErrorAsync(context, e.StatusCode, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, e.Message);
        }
    }

    // Both sides are hashed first, so the comparison takes the same time whatever the given key's length and content.
    private bool HasKey(HttpRequest request)
    {
        string? given = null;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) given = authorization["Bearer ".Length..].Trim();
        else if (request.Headers.TryGetValue("x-functions-key", out var header)) given = header.ToString();
        if (string.IsNullOrEmpty(given)) return false;
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), _keyHash);
    }

    private Task DispatchAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith(Prefix, StringComparison.Ordinal) || path.Length == Prefix.Length)
            throw new ServingException(404, $"Not found: {path} (routes: /v1/models/{{name}}[/versions/{{v}}|/labels/{{l}}][/metadata|:predict|:classify|:regress]).");
        var rest = path.AsSpan(Prefix.Length);
        string? verb = null;
        var colon = rest.LastIndexOf(':');
        if (colon >= 0 && rest[colon..].IndexOf('/') < 0)
        {
            verb = rest[(colon + 1)..].ToString();
            rest = rest[..colon];
        }
        var metadata = false;
        if (verb is null && rest.EndsWith("/metadata", StringComparison.Ordinal))
        {
            metadata = true;
            rest = rest[..^"/metadata".Length];
        }
        var slash = rest.IndexOf('/');
        var name = (slash < 0 ? rest : rest[..slash]).ToString();
        var selector = VersionSelector.Latest;
        if (slash >= 0)
        {
            var tail = rest[(slash + 1)..];
            if (tail.StartsWith("versions/", StringComparison.Ordinal))
            {
                var text = tail["versions/".Length..];
                if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < 1)
                    throw new ServingException(400, $"Version '{text.ToString()}' of model '{name}' is not a positive integer.");
                selector = VersionSelector.ForVersion(v);
            }
            else if (tail.StartsWith("labels/", StringComparison.Ordinal) && tail.Length > "labels/".Length && tail["labels/".Length..].IndexOf('/') < 0)
            {
                selector = VersionSelector.ForLabel(tail["labels/".Length..].ToString());
            }
            else throw new ServingException(404, $"Not found: {path} (after the model name: /versions/{{v}}, /labels/{{l}}, /metadata, :predict, :classify, :regress).");
        }

        var method = context.Request.Method;
        if (verb is null)
        {
            if (!HttpMethods.IsGet(method)) throw new ServingException(405, $"{method} {path}: status and metadata are read with GET.");
            return metadata ? MetadataAsync(context, name, selector) : StatusAsync(context, name, selector);
        }
        if (!HttpMethods.IsPost(method)) throw new ServingException(405, $"{method} {path}: :{verb} takes a POST.");
        return verb switch
        {
            "predict" => InferAsync(context, name, selector, Verb.Predict),
            "classify" => InferAsync(context, name, selector, Verb.Classify),
            "regress" => InferAsync(context, name, selector, Verb.Regress),
            _ => throw new ServingException(404, $"Unknown method ':{verb}' (methods: :predict, :classify, :regress)."),
        };
    }

    private Task StatusAsync(HttpContext context, string name, VersionSelector selector)
    {
        var statuses = _manager.GetStatus(name, selector);
        return WriteJsonAsync(context, 200, w => TfServingResponseWriter.WriteStatus(w, statuses));
    }

    private Task MetadataAsync(HttpContext context, string name, VersionSelector selector)
    {
        using var handle = _manager.Acquire(name, selector);
        var s = handle.Servable;
        return WriteJsonAsync(context, 200, w => TfServingResponseWriter.WriteMetadata(w, s.Model, s.Version, s.Signature));
    }

    private async Task InferAsync(HttpContext context, string name, VersionSelector selector, Verb verb)
    {
        using var handle = _manager.Acquire(name, selector);
        var servable = handle.Servable;
        var batcher = servable.Batcher;
        batcher.Expect(); // a forming batch waits for this request instead of leaving without it
        var submitted = false;
        try
        {
            var declared = context.Request.ContentLength;
            if (declared > _maxBodyBytes)
                throw new ServingException(413, $"The request body is {declared} bytes; the limit is {_maxBodyBytes} (MaxRequestBodyBytes, --max-body-bytes).");
            var pipe = context.Request.BodyReader;
            ReadResult read;
            while (true)
            {
                read = await pipe.ReadAsync(context.RequestAborted);
                if (read.Buffer.Length > _maxBodyBytes)
                {
                    pipe.AdvanceTo(read.Buffer.End);
                    throw new ServingException(413, $"The request body exceeds the limit of {_maxBodyBytes} bytes (MaxRequestBodyBytes, --max-body-bytes).");
                }
                if (read.IsCompleted) break;
                pipe.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
            InferenceRequest request;
            bool columnar;
            try
            {
                if (read.Buffer.IsEmpty) throw new ServingException(400, "The request body is empty; send a JSON object.");
                columnar = false;
                request = verb == Verb.Predict
                    ? TfServingRequestReader.ReadPredict(read.Buffer, servable.Signature, out columnar, _maxRows)
                    : TfServingRequestReader.ReadExamples(read.Buffer, servable.Signature, _maxRows);
            }
            finally
            {
                pipe.AdvanceTo(read.Buffer.End);
            }
            using (request)
            {
                submitted = true;
                var result = await batcher.SubmitAsync(request, expected: true);
                await WriteJsonAsync(context, 200, verb switch
                {
                    Verb.Predict => w => TfServingResponseWriter.WritePredict(w, result, columnar),
                    Verb.Classify => w => TfServingResponseWriter.WriteClassify(w, result, servable.Signature),
                    _ => (Action<Utf8JsonWriter>)(w => TfServingResponseWriter.WriteRegress(w, result)),
                });
            }
        }
        finally
        {
            if (!submitted) batcher.Withdraw();
        }
    }

    private Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted) return Task.CompletedTask;
        return WriteJsonAsync(context, status, w => TfServingResponseWriter.WriteError(w, message));
    }

    private async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        using var buffer = new PooledBufferWriter(_maxResponseBytes);
        // The writing is synchronous, so a thread's cached writer is never shared between requests.
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        writer.Reset(buffer);
        try
        {
            write(writer);
            writer.Flush();
        }
        finally
        {
            writer.Reset(Stream.Null);
        }
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = buffer.WrittenMemory.Length;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private enum Verb
    {
        Predict,
        Classify,
        Regress,
    }
}
