using System.Globalization;
using System.Security;
using System.Text;
using System.Xml.Linq;
using Azure;
using Azure.Core;
using Serverless.Storage.Queues.Models;

namespace Serverless.Storage.Queues;

/// <summary>
/// A storage queue (named after Azure.Storage.Queues' QueueClient). Messages are at-least-once: a received
/// message is hidden for its visibility timeout and reappears unless deleted with its pop receipt.
/// Message text goes on the wire as plain XML-escaped text by default (the SDK's default, QueueMessageEncoding.None);
/// set <see cref="QueueClientOptions.MessageEncoding"/> to Base64 for binary payloads or Functions interop.
/// </summary>
public sealed class QueueClient
{
    private readonly StorageContext _context;
    private readonly QueueMessageEncoding _encoding;

    /// <summary>From a connection string and queue name.</summary>
    public QueueClient(string connectionString, string queueName, QueueClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentException.ThrowIfNullOrEmpty(queueName);
        var cs = StorageConnectionString.Parse(connectionString);
        options ??= new QueueClientOptions();
        var (context, service) = StorageContext.Create(cs, cs.GetRequiredQueueEndpoint(), options, options.ApiVersion);
        _context = context;
        Uri = StorageContext.AppendPath(service, queueName, keepSlashes: false);
        Name = queueName;
        _encoding = options.MessageEncoding;
    }

    /// <summary>From a queue URI, anonymous or with a SAS in its query.</summary>
    public QueueClient(Uri queueUri, QueueClientOptions? options = null) : this(queueUri, (object?)null, options) { }

    /// <summary>With an account key.</summary>
    public QueueClient(Uri queueUri, StorageSharedKeyCredential credential, QueueClientOptions? options = null) : this(queueUri, (object)credential, options) { }

    /// <summary>With a SAS credential.</summary>
    public QueueClient(Uri queueUri, AzureSasCredential credential, QueueClientOptions? options = null) : this(queueUri, (object)credential, options) { }

    /// <summary>With an Entra ID token credential; needs https.</summary>
    public QueueClient(Uri queueUri, TokenCredential credential, QueueClientOptions? options = null) : this(queueUri, (object)credential, options) { }

    private QueueClient(Uri uri, object? credential, QueueClientOptions? options)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= new QueueClientOptions();
        (_context, Uri) = StorageContext.Create(uri, credential, options, options.ApiVersion);
        Name = Uri.UnescapeDataString(Uri.AbsolutePath.TrimEnd('/').Split('/')[^1]);
        _encoding = options.MessageEncoding;
    }

    internal QueueClient(StorageContext context, Uri uri, string name, QueueMessageEncoding encoding)
    {
        _context = context;
        Uri = uri;
        Name = name;
        _encoding = encoding;
    }

    /// <summary>The queue URI (without SAS).</summary>
    public Uri Uri { get; }

    /// <summary>The queue name.</summary>
    public string Name { get; }

    /// <summary>The account name.</summary>
    public string AccountName => _context.AccountName;

    private Uri MessagesUri => new(Uri.AbsoluteUri.TrimEnd('/') + "/messages");

    /// <summary>Creates the queue (succeeds if it exists with the same metadata; 409 QueueAlreadyExists otherwise).</summary>
    public async Task<Response> CreateAsync(IDictionary<string, string>? metadata = null, CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Put, Uri);
        Blobs.BlobProtocol.ApplyMetadata(message.Request, metadata);
        return await _context.SendAsync(message, cancellation, 201, 204);
    }

    /// <summary>Creates the queue unless it exists; returns null when it already existed.</summary>
    public async Task<Response?> CreateIfNotExistsAsync(IDictionary<string, string>? metadata = null, CancellationToken cancellation = default)
    {
        try
        {
            var response = await CreateAsync(metadata, cancellation);
            return response.Status == 201 ? response : null;
        }
        catch (RequestFailedException e) when (e.Status == 409 && e.ErrorCode == "QueueAlreadyExists")
        {
            return null;
        }
    }

    /// <summary>Deletes the queue and its messages.</summary>
    public async Task<Response> DeleteAsync(CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Delete, Uri);
        return await _context.SendAsync(message, cancellation, 204);
    }

    /// <summary>Deletes the queue if it exists.</summary>
    public async Task<Response<bool>> DeleteIfExistsAsync(CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Delete, Uri);
        var response = await _context.SendAsync(message, cancellation, 204, 404);
        return Response.FromValue(response.Status == 204, response);
    }

    /// <summary>Whether the queue exists.</summary>
    public async Task<Response<bool>> ExistsAsync(CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Get, Uri, ("comp", "metadata"));
        var response = await _context.SendAsync(message, cancellation, 200, 404);
        return Response.FromValue(response.Status == 200, response);
    }

    /// <summary>Approximate message count and metadata.</summary>
    public async Task<Response<QueueProperties>> GetPropertiesAsync(CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Get, Uri, ("comp", "metadata"));
        var response = await _context.SendAsync(message, cancellation, 200);
        var count = Blobs.BlobProtocol.Header(response, "x-ms-approximate-messages-count");
        return Response.FromValue(new QueueProperties
        {
            ApproximateMessagesCount = count == null ? 0 : int.Parse(count, CultureInfo.InvariantCulture),
            Metadata = Blobs.BlobProtocol.ReadMetadata(response),
        }, response);
    }

    /// <summary>Sends a text message; <paramref name="visibilityTimeout"/> delays it, <paramref name="timeToLive"/>
    /// (default 7 days; -1 s = never) bounds its life. At most 64 KiB on the wire.</summary>
    public Task<Response<SendReceipt>> SendMessageAsync(string messageText, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(messageText);
        return SendMessageAsync(BinaryData.FromString(messageText), visibilityTimeout, timeToLive, cancellation);
    }

    /// <summary>Sends a message body; see the string overload.</summary>
    public async Task<Response<SendReceipt>> SendMessageAsync(BinaryData message, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var http = _context.CreateMessage(RequestMethod.Post, MessagesUri,
            ("visibilitytimeout", visibilityTimeout is { } v ? StorageContext.FormatSeconds(v) : null),
            ("messagettl", timeToLive is { } t ? StorageContext.FormatSeconds(t) : null));
        SetMessageBody(http.Request, message);
        var response = await _context.SendAsync(http, cancellation, 201);
        var m = ParseMessages(response).FirstOrDefault() ?? throw new RequestFailedException(response.Status, "Put Message returned no message.");
        return Response.FromValue(new SendReceipt
        {
            MessageId = m.Element("MessageId")?.Value ?? string.Empty,
            PopReceipt = m.Element("PopReceipt")?.Value ?? string.Empty,
            InsertionTime = Date(m, "InsertionTime") ?? default,
            ExpirationTime = Date(m, "ExpirationTime") ?? default,
            TimeNextVisible = Date(m, "TimeNextVisible") ?? default,
        }, response);
    }

    /// <summary>Receives up to <paramref name="maxMessages"/> (1-32, default 1) messages and hides them for
    /// <paramref name="visibilityTimeout"/> (default 30 s).</summary>
    public async Task<Response<QueueMessage[]>> ReceiveMessagesAsync(int? maxMessages = null, TimeSpan? visibilityTimeout = null, CancellationToken cancellation = default)
    {
        using var http = _context.CreateMessage(RequestMethod.Get, MessagesUri,
            ("numofmessages", maxMessages?.ToString(CultureInfo.InvariantCulture)),
            ("visibilitytimeout", visibilityTimeout is { } v ? StorageContext.FormatSeconds(v) : null));
        var response = await _context.SendAsync(http, cancellation, 200);
        var messages = ParseMessages(response).Select(m => new QueueMessage
        {
            MessageId = m.Element("MessageId")?.Value ?? string.Empty,
            PopReceipt = m.Element("PopReceipt")?.Value ?? string.Empty,
            Body = DecodeBody(m.Element("MessageText")?.Value),
            DequeueCount = long.Parse(m.Element("DequeueCount")?.Value ?? "0", CultureInfo.InvariantCulture),
            NextVisibleOn = Date(m, "TimeNextVisible"),
            InsertedOn = Date(m, "InsertionTime"),
            ExpiresOn = Date(m, "ExpirationTime"),
        }).ToArray();
        return Response.FromValue(messages, response);
    }

    /// <summary>Receives one message, or null when the queue has no visible message.</summary>
    public async Task<Response<QueueMessage?>> ReceiveMessageAsync(TimeSpan? visibilityTimeout = null, CancellationToken cancellation = default)
    {
        var r = await ReceiveMessagesAsync(1, visibilityTimeout, cancellation);
        return Response.FromValue(r.Value.FirstOrDefault(), r.GetRawResponse());
    }

    /// <summary>Peeks at up to <paramref name="maxMessages"/> (1-32) visible messages without hiding them.</summary>
    public async Task<Response<PeekedMessage[]>> PeekMessagesAsync(int? maxMessages = null, CancellationToken cancellation = default)
    {
        using var http = _context.CreateMessage(RequestMethod.Get, MessagesUri, ("peekonly", "true"), ("numofmessages", maxMessages?.ToString(CultureInfo.InvariantCulture)));
        var response = await _context.SendAsync(http, cancellation, 200);
        var messages = ParseMessages(response).Select(m => new PeekedMessage
        {
            MessageId = m.Element("MessageId")?.Value ?? string.Empty,
            Body = DecodeBody(m.Element("MessageText")?.Value),
            DequeueCount = long.Parse(m.Element("DequeueCount")?.Value ?? "0", CultureInfo.InvariantCulture),
            InsertedOn = Date(m, "InsertionTime"),
            ExpiresOn = Date(m, "ExpirationTime"),
        }).ToArray();
        return Response.FromValue(messages, response);
    }

    /// <summary>Changes a received message's visibility (and optionally its text); returns the new pop receipt.
    /// 400 PopReceiptMismatch when the pop receipt is stale (the message was received again since), 404 MessageNotFound when it is gone.</summary>
    public async Task<Response<UpdateReceipt>> UpdateMessageAsync(string messageId, string popReceipt, string? messageText = null, TimeSpan visibilityTimeout = default, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentException.ThrowIfNullOrEmpty(popReceipt);
        using var http = _context.CreateMessage(RequestMethod.Put, StorageContext.AppendPath(MessagesUri, messageId, keepSlashes: false),
            ("popreceipt", popReceipt), ("visibilitytimeout", StorageContext.FormatSeconds(visibilityTimeout)));
        if (messageText != null) SetMessageBody(http.Request, BinaryData.FromString(messageText));
        var response = await _context.SendAsync(http, cancellation, 204);
        return Response.FromValue(new UpdateReceipt
        {
            PopReceipt = Blobs.BlobProtocol.Header(response, "x-ms-popreceipt") ?? string.Empty,
            NextVisibleOn = Blobs.BlobProtocol.ReadDate(response, "x-ms-time-next-visible"),
        }, response);
    }

    /// <summary>Deletes a received message; 400 PopReceiptMismatch when the pop receipt is stale, 404 MessageNotFound when the message is gone.</summary>
    public async Task<Response> DeleteMessageAsync(string messageId, string popReceipt, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentException.ThrowIfNullOrEmpty(popReceipt);
        using var http = _context.CreateMessage(RequestMethod.Delete, StorageContext.AppendPath(MessagesUri, messageId, keepSlashes: false), ("popreceipt", popReceipt));
        return await _context.SendAsync(http, cancellation, 204);
    }

    /// <summary>Deletes all messages.</summary>
    public async Task<Response> ClearMessagesAsync(CancellationToken cancellation = default)
    {
        using var http = _context.CreateMessage(RequestMethod.Delete, MessagesUri);
        return await _context.SendAsync(http, cancellation, 204);
    }

    private void SetMessageBody(Request request, BinaryData body)
    {
        var text = _encoding == QueueMessageEncoding.Base64 ? Convert.ToBase64String(body.ToArray()) : body.ToString();
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>" + SecurityElement.Escape(text) + "</MessageText></QueueMessage>";
        request.Headers.SetValue("Content-Type", "application/xml");
        request.Content = RequestContent.Create(Encoding.UTF8.GetBytes(xml));
    }

    private BinaryData DecodeBody(string? text)
    {
        if (text == null) return BinaryData.Empty;
        return _encoding == QueueMessageEncoding.Base64 ? BinaryData.FromBytes(Convert.FromBase64String(text)) : BinaryData.FromString(text);
    }

    private static IEnumerable<XElement> ParseMessages(Response response)
    {
        if (response.ContentStream == null) return [];
        var xml = XDocument.Load(response.ContentStream);
        return xml.Root?.Elements("QueueMessage").ToList() ?? [];
    }

    private static DateTimeOffset? Date(XElement m, string name) => m.Element(name)?.Value is { } v ? Blobs.BlobProtocol.ParseDate(v) : null;
}
