using System.Globalization;
using System.Text;
using System.Xml.Linq;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Serverless.Storage;

/// <summary>
/// What a service client and all child clients share: the HTTP pipeline (retries, logging, auth), the account
/// name, the key (for SAS generation) and a SAS to append to every request.
/// </summary>
internal sealed class StorageContext
{
    private static readonly string[] StorageScopes = ["https://storage.azure.com/.default"];

    private StorageContext(HttpPipeline pipeline, string accountName, StorageSharedKeyCredential? sharedKey, string? sas)
    {
        Pipeline = pipeline;
        AccountName = accountName;
        SharedKey = sharedKey;
        Sas = sas;
    }

    public HttpPipeline Pipeline { get; }

    public string AccountName { get; }

    public StorageSharedKeyCredential? SharedKey { get; }

    public string? Sas { get; }

    /// <summary>Builds a context for <paramref name="uri"/> and one credential (key, SAS, token, or none; a SAS
    /// may also come inside the URI's query). Returns the URI without its query.</summary>
    public static (StorageContext Context, Uri Uri) Create(Uri uri, object? credential, ClientOptions options, string apiVersion)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri) throw new ArgumentException($"The storage URI '{uri}' is not absolute.", nameof(uri));
        string? sas = null;
        var clean = uri;
        if (uri.Query.Length > 1)
        {
            sas = uri.Query[1..];
            clean = new UriBuilder(uri) { Query = string.Empty }.Uri;
        }
        var perCall = new List<HttpPipelinePolicy> { new StorageVersionPolicy(apiVersion) };
        var perRetry = new List<HttpPipelinePolicy>();
        StorageSharedKeyCredential? key = null;
        string account;
        switch (credential)
        {
            case null:
                account = StorageConnectionString.InferAccountName(clean);
                break;
            case StorageSharedKeyCredential k:
                key = k;
                account = k.AccountName;
                perRetry.Add(new StorageSharedKeyPolicy(k));
                sas = null;
                break;
            case AzureSasCredential s:
                sas = s.Signature.TrimStart('?');
                account = StorageConnectionString.InferAccountName(clean);
                break;
            case TokenCredential t:
                account = StorageConnectionString.InferAccountName(clean);
                perRetry.Add(new BearerTokenAuthenticationPolicy(t, StorageScopes));
                break;
            default:
                throw new ArgumentException($"Unsupported credential type {credential.GetType().Name}.", nameof(credential));
        }
        var pipeline = HttpPipelineBuilder.Build(options, perCall.ToArray(), perRetry.ToArray(), new ResponseClassifier());
        return (new StorageContext(pipeline, account, key, sas), clean);
    }

    /// <summary>Builds a context from a parsed connection string for one service endpoint.</summary>
    public static (StorageContext Context, Uri Uri) Create(StorageConnectionString cs, Uri endpoint, ClientOptions options, string apiVersion)
    {
        if (cs.SharedKeyCredential != null) return Create(endpoint, cs.SharedKeyCredential, options, apiVersion);
        return Create(endpoint, new AzureSasCredential(cs.SharedAccessSignature!), options, apiVersion);
    }

    /// <summary>Appends a path segment, percent-encoding it; '/' inside blob names stays a separator.</summary>
    public static Uri AppendPath(Uri baseUri, string name, bool keepSlashes)
    {
        var encoded = keepSlashes
            ? string.Join('/', name.Split('/').Select(Uri.EscapeDataString))
            : Uri.EscapeDataString(name);
        var b = baseUri.AbsoluteUri.TrimEnd('/');
        return new Uri(b + "/" + encoded);
    }

    public HttpMessage CreateMessage(RequestMethod method, Uri resource, params (string Name, string? Value)[] query)
    {
        var message = Pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(resource);
        foreach (var (name, value) in query)
        {
            if (value != null) request.Uri.AppendQuery(name, value, true);
        }
        if (!string.IsNullOrEmpty(Sas))
        {
            foreach (var pair in Sas.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0) request.Uri.AppendQuery(pair[..eq], pair[(eq + 1)..], false);
            }
        }
        return message;
    }

    /// <summary>Sends and returns the response when its status is expected; otherwise throws the mapped error
    /// (<see cref="StorageAuthenticationFailedException"/> for 403, a clear message for a missing container or queue).</summary>
    public async Task<Response> SendAsync(HttpMessage message, CancellationToken cancellation, params int[] expected)
    {
        await Pipeline.SendAsync(message, cancellation);
        var response = message.Response;
        if (Array.IndexOf(expected, response.Status) >= 0) return response;
        throw await CreateExceptionAsync(message, cancellation);
    }

    public async Task<RequestFailedException> CreateExceptionAsync(HttpMessage message, CancellationToken cancellation)
    {
        var response = message.Response;
        string? code = response.Headers.TryGetValue("x-ms-error-code", out var c) ? c : null;
        string? text = null;
        try
        {
            string? body = null;
            if (response.ContentStream is { } stream && !message.BufferResponse)
            {
                using var reader = new StreamReader(stream, Encoding.UTF8);
                body = await reader.ReadToEndAsync(cancellation);
            }
            else if (response.Content is { } content && !content.ToMemory().IsEmpty)
            {
                body = content.ToString();
            }
            if (!string.IsNullOrWhiteSpace(body) && body.TrimStart().StartsWith('<'))
            {
                var xml = XDocument.Parse(body);
                code ??= xml.Root?.Element("Code")?.Value;
                text = xml.Root?.Element("Message")?.Value.Split('\n')[0].Trim();
            }
        }
        catch (System.Xml.XmlException)
        {
        }
        text ??= response.ReasonPhrase;
        var requestId = response.Headers.TryGetValue("x-ms-request-id", out var id) ? id : null;
        var uri = message.Request.Uri.ToUri();
        var resource = new UriBuilder(uri) { Query = string.Empty }.Uri;
        if (response.Status == 403)
            return new StorageAuthenticationFailedException(AccountName, resource, requestId, code, text);
        var method = message.Request.Method.Method;
        string detail = code switch
        {
            "ContainerNotFound" => $"Container '{ContainerName(resource)}' does not exist in storage account '{AccountName}' ({resource.GetLeftPart(UriPartial.Authority)}); create it first (BlobContainerClient.CreateIfNotExistsAsync).",
            "QueueNotFound" => $"Queue '{ContainerName(resource)}' does not exist in storage account '{AccountName}' ({resource.GetLeftPart(UriPartial.Authority)}); create it first (QueueClient.CreateIfNotExistsAsync).",
            _ => $"{method} {resource.AbsoluteUri} failed with HTTP {response.Status} {code}: {text}.",
        };
        return new RequestFailedException(response.Status, $"{detail} x-ms-request-id: {requestId ?? "none"}", code, null);
    }

    private string ContainerName(Uri resource)
    {
        var segments = resource.AbsolutePath.Trim('/').Split('/');
        var i = segments.Length > 1 && segments[0] == AccountName ? 1 : 0;
        return Uri.UnescapeDataString(segments.Length > i ? segments[i] : string.Empty);
    }

    public static string FormatSeconds(TimeSpan t) => ((long)t.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}

/// <summary>Adds x-ms-version to every request (per call, before retries).</summary>
internal sealed class StorageVersionPolicy(string version) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message) => message.Request.Headers.SetValue("x-ms-version", version);
}
