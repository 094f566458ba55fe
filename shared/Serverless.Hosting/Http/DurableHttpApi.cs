using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Hosting.Client;

namespace Serverless.Hosting.Http;

/// <summary>
/// The request handlers of the management API. Status codes follow Durable Functions' HttpApiHandler:
/// 202 + Location + Retry-After while an instance is unfinished, 200 once finished (500 for a failed one only
/// with <c>returnInternalServerErrorOnFailure=true</c>), 404 unknown, 410 for operations on finished instances,
/// 409 when starting an id that is still running, 412 when purging an unfinished instance.
/// </summary>
internal sealed class DurableHttpApi
{
    private const string ContinuationHeader = "x-ms-continuation-token";
    private const string KeyHeader = "x-functions-key";

    private readonly DurableTaskClient _client;
    private readonly DurableHttpOptions _options;
    private readonly byte[]? _key;

    public DurableHttpApi(DurableTaskClient client, DurableHttpOptions options)
    {
        _client = client;
        _options = options;
        _key = string.IsNullOrEmpty(options.AccessKey) ? null : Encoding.UTF8.GetBytes(options.AccessKey);
    }

    private string TaskHub => _options.TaskHubName ?? _client.Name;

    /// <summary>Runs a handler behind the access-key check, turning bad input into 400 with a JSON error body.</summary>
    public async Task HandleAsync(HttpContext context, Func<HttpContext, Task> handler)
    {
        if (!IsAuthorized(context.Request))
        {
            await WriteErrorAsync(context, StatusCodes.Status401Unauthorized,
                $"A valid access key is required in the '{KeyHeader}' header or the 'code' query parameter.").ConfigureAwait(false);
            return;
        }
        try
        {
            var hub = context.Request.Query["taskHub"].ToString();
            if (hub.Length > 0 && !string.Equals(hub, TaskHub, StringComparison.OrdinalIgnoreCase))
                throw new BadRequestException($"Task hub '{hub}' is not served here; this host serves '{TaskHub}'.");
            var connection = context.Request.Query["connection"].ToString();
            if (connection.Length > 0 && _options.ConnectionName is { } served && !string.Equals(connection, served, StringComparison.OrdinalIgnoreCase))
                throw new BadRequestException($"Connection '{connection}' is not served here; this host serves '{served}'.");
            await handler(context).ConfigureAwait(false);
        }
        catch (BadRequestException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await WriteErrorAsync(context, ex.StatusCode, ex.Message).ConfigureAwait(false);
        }
        catch (InstanceNotFoundException ex)
        {
            // The instance was purged between the existence check and the operation.
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, ex.Message).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !context.Response.HasStarted)
        {
            // Durable Functions answers unexpected failures with 500 and an error body, not an empty response.
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, $"The request failed: {ex.Message}").ConfigureAwait(false);
        }
    }

    private bool IsAuthorized(HttpRequest request)
    {
        if (_key is null) return true;
        var given = request.Headers[KeyHeader].ToString();
        if (given.Length == 0) given = request.Query["code"].ToString();
        return given.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _key);
    }

    // ---------------- start ----------------

    public async Task StartAsync(HttpContext context)
    {
        var name = RouteValue(context, "functionName")!;
        var requestedId = RouteValue(context, "instanceId");
        if (_options.InternalOrchestrators.Contains(name))
        {
            await WriteInternalAsync(context, name).ConfigureAwait(false);
            return;
        }
        if (_options.IsOrchestratorRegistered is { } known && !known(name))
            throw new BadRequestException($"No orchestrator named '{name}' is registered with this host.");
        var input = await ReadJsonBodyAsync(context, "orchestrator input").ConfigureAwait(false);
        string id;
        try
        {
            id = await _client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(requestedId), context.RequestAborted).ConfigureAwait(false);
        }
        catch (OrchestrationAlreadyExistsException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status409Conflict, ex.Message).ConfigureAwait(false);
            return;
        }
        catch (ArgumentException ex)
        {
            throw new BadRequestException(ex.Message);
        }
        await WriteCheckStatusResponseAsync(context, id).ConfigureAwait(false);
    }

    /// <summary>Writes Durable Functions' check-status response: 202, the management links, Location and Retry-After.</summary>
    public Task WriteCheckStatusResponseAsync(HttpContext context, string instanceId)
    {
        var links = DurableHttpManagement.CreateHttpManagementPayload(context.Request, instanceId, _options, TaskHub);
        context.Response.Headers.Location = links.StatusQueryGetUri;
        context.Response.Headers.RetryAfter = Seconds(_options.StartRetryAfter);
        return WriteJsonAsync(context, StatusCodes.Status202Accepted, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", links.Id);
            w.WriteString("statusQueryGetUri", links.StatusQueryGetUri);
            w.WriteString("sendEventPostUri", links.SendEventPostUri);
            w.WriteString("terminatePostUri", links.TerminatePostUri);
            w.WriteString("suspendPostUri", links.SuspendPostUri);
            w.WriteString("resumePostUri", links.ResumePostUri);
            w.WriteString("purgeHistoryDeleteUri", links.PurgeHistoryDeleteUri);
            w.WriteString("restartPostUri", links.RestartPostUri);
            w.WriteEndObject();
        });
    }

    // ---------------- status ----------------

    public async Task GetStatusAsync(HttpContext context)
    {
        var id = RouteValue(context, "instanceId")!;
        var query = context.Request.Query;
        var showHistory = Bool(query, "showHistory") ?? false;
        var showHistoryOutput = Bool(query, "showHistoryOutput") ?? false;
        var showInput = Bool(query, "showInput") ?? true;
        var serverErrorOnFailure = Bool(query, "returnInternalServerErrorOnFailure") ?? false;

        var meta = await _client.GetInstanceAsync(id, getInputsAndOutputs: true, context.RequestAborted).ConfigureAwait(false);
        if (meta is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No orchestration instance with id '{id}'.").ConfigureAwait(false);
            return;
        }
        var history = showHistory ? await _client.GetOrchestrationHistoryAsync(id, context.RequestAborted).ConfigureAwait(false) : null;

        int status;
        switch (meta.RuntimeStatus)
        {
            case OrchestrationRuntimeStatus.Failed:
                status = serverErrorOnFailure ? StatusCodes.Status500InternalServerError : StatusCodes.Status200OK;
                break;
#pragma warning disable CS0618 // Canceled is obsolete in the SDK but still a terminal status a provider may report.
            case OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Terminated or OrchestrationRuntimeStatus.Canceled:
#pragma warning restore CS0618
                status = StatusCodes.Status200OK;
                break;
            default:
                // Pending, Running, ContinuedAsNew, Suspended: the async HTTP 202 pattern.
                status = StatusCodes.Status202Accepted;
                context.Response.Headers.Location = DurableHttpManagement.RequestUrl(context.Request, _options.BaseUri);
                context.Response.Headers.RetryAfter = Seconds(_options.StatusRetryAfter);
                break;
        }
        await WriteJsonAsync(context, status, w =>
        {
            StatusJson.WriteStatus(w, meta, showInput);
            if (history != null)
            {
                w.WritePropertyName("historyEvents");
                StatusJson.WriteHistory(w, history, showInput, showHistoryOutput);
            }
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    public async Task QueryAsync(HttpContext context)
    {
        var q = context.Request.Query;
        var showInput = Bool(q, "showInput") ?? true;
        var top = Int(q, "top") ?? _options.DefaultPageSize;
        if (top < 1) throw new BadRequestException($"Query parameter 'top' must be at least 1; got {top}.");
        var token = context.Request.Headers[ContinuationHeader].ToString();
        var query = new OrchestrationQuery
        {
            Statuses = Statuses(q),
            CreatedFrom = Date(q, "createdTimeFrom"),
            CreatedTo = Date(q, "createdTimeTo"),
            InstanceIdPrefix = q["instanceIdPrefix"].ToString() is { Length: > 0 } prefix ? prefix : null,
            PageSize = top,
            FetchInputsAndOutputs = true,
        };
        Page<OrchestrationMetadata>? page = null;
        await foreach (var p in _client.GetAllInstancesAsync(query).AsPages(token.Length > 0 ? token : null, top).WithCancellation(context.RequestAborted).ConfigureAwait(false))
        {
            page = p;
            break;
        }
        page ??= new Page<OrchestrationMetadata>([], null);
        if (page.ContinuationToken != null) context.Response.Headers[ContinuationHeader] = page.ContinuationToken;
        await WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray();
            foreach (var m in page.Values)
            {
                StatusJson.WriteStatus(w, m, showInput);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    // ---------------- purge ----------------

    public async Task PurgeAsync(HttpContext context)
    {
        var id = RouteValue(context, "instanceId")!;
        var meta = await _client.GetInstanceAsync(id, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (meta is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No orchestration instance with id '{id}'.").ConfigureAwait(false);
            return;
        }
        if (!meta.IsCompleted)
        {
            await WriteErrorAsync(context, StatusCodes.Status412PreconditionFailed,
                $"Only finished instances can be purged; instance '{id}' is {meta.RuntimeStatus}.").ConfigureAwait(false);
            return;
        }
        var result = await _client.PurgeInstanceAsync(id, context.RequestAborted).ConfigureAwait(false);
        await WritePurgeResultAsync(context, result.PurgedInstanceCount).ConfigureAwait(false);
    }

    public async Task PurgeByFilterAsync(HttpContext context)
    {
        var q = context.Request.Query;
        // Durable Functions requires a lower bound, so that a bare DELETE cannot wipe a whole task hub.
        var from = Date(q, "createdTimeFrom") ?? throw new BadRequestException("Query parameter 'createdTimeFrom' is required to purge by filter.");
        var filter = new PurgeInstancesFilter(CreatedFrom: from, CreatedTo: Date(q, "createdTimeTo"), Statuses: Statuses(q));
        var result = await _client.PurgeAllInstancesAsync(filter, context.RequestAborted).ConfigureAwait(false);
        if (result.PurgedInstanceCount == 0)
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, "No finished instances matched the filter.").ConfigureAwait(false);
            return;
        }
        await WritePurgeResultAsync(context, result.PurgedInstanceCount).ConfigureAwait(false);
    }

    private static Task WritePurgeResultAsync(HttpContext context, int count) =>
        WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("instancesDeleted", count);
            w.WriteEndObject();
        });

    // ---------------- operations on one instance ----------------

    public async Task RaiseEventAsync(HttpContext context)
    {
        var id = RouteValue(context, "instanceId")!;
        var eventName = RouteValue(context, "eventName")!;
        if (!await CheckRunningAsync(context, id).ConfigureAwait(false)) return;
        var type = context.Request.ContentType;
        if (context.Request.ContentLength is not 0 && type != null && !IsJson(type))
            throw new BadRequestException($"Only application/json event payloads are supported; got '{type}'.");
        var payload = await ReadJsonBodyAsync(context, "event payload").ConfigureAwait(false);
        await _client.RaiseEventAsync(id, eventName, payload, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    public Task TerminateAsync(HttpContext context) =>
        OperateAsync(context, (id, reason, ct) => _client.TerminateInstanceAsync(id, reason, ct));

    public Task SuspendAsync(HttpContext context) =>
        OperateAsync(context, (id, reason, ct) => _client.SuspendInstanceAsync(id, reason, ct));

    public Task ResumeAsync(HttpContext context) =>
        OperateAsync(context, (id, reason, ct) => _client.ResumeInstanceAsync(id, reason, ct));

    private async Task OperateAsync(HttpContext context, Func<string, string?, CancellationToken, Task> operation)
    {
        var id = RouteValue(context, "instanceId")!;
        if (!await CheckRunningAsync(context, id).ConfigureAwait(false)) return;
        var reason = context.Request.Query["reason"].ToString();
        await operation(id, reason.Length > 0 ? reason : null, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    /// <summary>
    /// Restarts an instance with its original input (Durable Functions' <c>restartPostUri</c>): 202 with the check-status
    /// body of the restarted instance; 404 unknown; 409 when it is still running and no new id was asked for.
    /// </summary>
    public async Task RestartAsync(HttpContext context)
    {
        var id = RouteValue(context, "instanceId")!;
        var newId = Bool(context.Request.Query, "restartWithNewInstanceId") ?? false;
        var meta = await _client.GetInstanceAsync(id, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (meta is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No orchestration instance with id '{id}'.").ConfigureAwait(false);
            return;
        }
        if (_options.InternalOrchestrators.Contains(meta.Name))
        {
            await WriteInternalAsync(context, meta.Name).ConfigureAwait(false);
            return;
        }
        if (!meta.IsCompleted && !newId)
        {
            await WriteErrorAsync(context, StatusCodes.Status409Conflict,
                $"Instance '{id}' is {meta.RuntimeStatus}; restart it under the same id once it has finished, or pass restartWithNewInstanceId=true.").ConfigureAwait(false);
            return;
        }
        var restarted = await _client.RestartAsync(id, newId, context.RequestAborted).ConfigureAwait(false);
        await WriteCheckStatusResponseAsync(context, restarted).ConfigureAwait(false);
    }

    private Task WriteInternalAsync(HttpContext context, string name) =>
        WriteErrorAsync(context, StatusCodes.Status403Forbidden,
            $"Orchestrator '{name}' is started only by the host (e.g. POST /api/pipelines/{{name}}/runs for pipeline runs), not through the management API.");

    /// <summary>Routes of the API (path after the prefix, any method), to tell 405 from 404.</summary>
    private static readonly System.Text.RegularExpressions.Regex KnownPath = new(
        "^/(orchestrators/[^/]+(/[^/]+)?|instances(/[^/]+(/(raiseEvent/[^/]+|terminate|suspend|resume|restart))?)?)/?$",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    /// <summary>Any other request under the prefix: 405 for a known path with another method, else 404; both with a JSON error.</summary>
    public Task NotFoundAsync(HttpContext context)
    {
        var rest = context.Request.Path.Value is { } path && path.StartsWith(DurableHttpOptions.RoutePrefix, StringComparison.OrdinalIgnoreCase)
            ? path[DurableHttpOptions.RoutePrefix.Length..] : context.Request.Path.Value ?? "";
        return KnownPath.IsMatch(rest)
            ? WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, $"{context.Request.Method} is not allowed on {context.Request.Path}.")
            : WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No durable management route matches {context.Request.Method} {context.Request.Path}.");
    }

    /// <summary>404 for an unknown instance, 410 for a finished one (it can no longer process messages).</summary>
    private async Task<bool> CheckRunningAsync(HttpContext context, string id)
    {
        var meta = await _client.GetInstanceAsync(id, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (meta is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No orchestration instance with id '{id}'.").ConfigureAwait(false);
            return false;
        }
        if (meta.IsCompleted)
        {
            await WriteErrorAsync(context, StatusCodes.Status410Gone, $"Instance '{id}' is {meta.RuntimeStatus} and cannot process this request.").ConfigureAwait(false);
            return false;
        }
        return true;
    }

    // ---------------- request parsing ----------------

    private static string? RouteValue(HttpContext context, string name) =>
        context.Request.RouteValues.TryGetValue(name, out var v) && v is string s && s.Length > 0 ? s : null;

    private static bool IsJson(string contentType) =>
        contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
        || contentType.Contains("+json", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the body as one JSON value (null when empty); the engine then stores it as JSON text unchanged.</summary>
    private async Task<JsonElement?> ReadJsonBodyAsync(HttpContext context, string what)
    {
        if (context.Request.ContentLength > _options.MaxRequestBodyBytes)
            throw new BadRequestException($"The {what} is larger than {_options.MaxRequestBodyBytes} bytes.");
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > _options.MaxRequestBodyBytes)
                throw new BadRequestException($"The {what} is larger than {_options.MaxRequestBodyBytes} bytes.");
        }
        if (buffer.Length == 0 || buffer.ToArray().All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return null;
        try
        {
            using var doc = JsonDocument.Parse(buffer.ToArray());
            return doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new BadRequestException($"The {what} is not valid JSON: {ex.Message}");
        }
    }

    private static bool? Bool(IQueryCollection q, string name)
    {
        var s = q[name].ToString();
        if (s.Length == 0) return null;
        return bool.TryParse(s, out var b) ? b : throw new BadRequestException($"Query parameter '{name}' must be true or false; got '{s}'.");
    }

    private static int? Int(IQueryCollection q, string name)
    {
        var s = q[name].ToString();
        if (s.Length == 0) return null;
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i : throw new BadRequestException($"Query parameter '{name}' must be an integer; got '{s}'.");
    }

    /// <summary>ISO 8601 timestamps; one without an offset is taken as UTC, as Durable Functions does.</summary>
    private static DateTimeOffset? Date(IQueryCollection q, string name)
    {
        var s = q[name].ToString();
        if (s.Length == 0) return null;
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)
            ? d : throw new BadRequestException($"Query parameter '{name}' must be an ISO 8601 timestamp; got '{s}'.");
    }

    private static IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses(IQueryCollection q)
    {
        var values = q["runtimeStatus"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (values.Count == 0) return null;
        var result = new List<OrchestrationRuntimeStatus>();
        foreach (var v in values)
        {
            if (!Enum.TryParse<OrchestrationRuntimeStatus>(v, ignoreCase: true, out var status) || int.TryParse(v, out _))
                throw new BadRequestException($"Query parameter 'runtimeStatus' has an unknown status '{v}'; expected one of {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.");
            result.Add(status);
        }
        return result;
    }

    // ---------------- responses ----------------

    private static string Seconds(TimeSpan t) => ((int)Math.Ceiling(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message) =>
        WriteJsonAsync(context, status, w =>
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        });
}

/// <summary>A malformed request: bad JSON, a bad query value. Becomes 400 with a JSON error body.</summary>
internal sealed class BadRequestException(string message) : Exception(message);
