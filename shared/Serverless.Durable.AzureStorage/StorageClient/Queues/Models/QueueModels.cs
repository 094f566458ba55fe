namespace Serverless.Storage.Queues.Models;

/// <summary>A received message: visible to nobody else until <see cref="NextVisibleOn"/>; delete it with its pop receipt.</summary>
public sealed class QueueMessage
{
    /// <summary>The message id.</summary>
    public string MessageId { get; init; } = string.Empty;

    /// <summary>The receipt needed to delete or update this dequeue of the message (changes on every receive/update).</summary>
    public string PopReceipt { get; init; } = string.Empty;

    /// <summary>The message text (decoded per the client's message encoding).</summary>
    public string MessageText => Body.ToString();

    /// <summary>The message body.</summary>
    public BinaryData Body { get; init; } = BinaryData.Empty;

    /// <summary>How many times the message was received (1 on the first receive).</summary>
    public long DequeueCount { get; init; }

    /// <summary>When the message becomes visible again unless deleted.</summary>
    public DateTimeOffset? NextVisibleOn { get; init; }

    /// <summary>When it was inserted.</summary>
    public DateTimeOffset? InsertedOn { get; init; }

    /// <summary>When it expires.</summary>
    public DateTimeOffset? ExpiresOn { get; init; }
}

/// <summary>A peeked message (not hidden, no pop receipt).</summary>
public sealed class PeekedMessage
{
    /// <summary>The message id.</summary>
    public string MessageId { get; init; } = string.Empty;

    /// <summary>The message text.</summary>
    public string MessageText => Body.ToString();

    /// <summary>The message body.</summary>
    public BinaryData Body { get; init; } = BinaryData.Empty;

    /// <summary>How many times it was received.</summary>
    public long DequeueCount { get; init; }

    /// <summary>When it was inserted.</summary>
    public DateTimeOffset? InsertedOn { get; init; }

    /// <summary>When it expires.</summary>
    public DateTimeOffset? ExpiresOn { get; init; }
}

/// <summary>Result of sending a message.</summary>
public sealed class SendReceipt
{
    /// <summary>The new message id.</summary>
    public string MessageId { get; init; } = string.Empty;

    /// <summary>A pop receipt for deleting/updating it before it is received.</summary>
    public string PopReceipt { get; init; } = string.Empty;

    /// <summary>When it was inserted.</summary>
    public DateTimeOffset InsertionTime { get; init; }

    /// <summary>When it expires.</summary>
    public DateTimeOffset ExpirationTime { get; init; }

    /// <summary>When it becomes visible.</summary>
    public DateTimeOffset TimeNextVisible { get; init; }
}

/// <summary>Result of updating a message.</summary>
public sealed class UpdateReceipt
{
    /// <summary>The new pop receipt (the old one is no longer valid).</summary>
    public string PopReceipt { get; init; } = string.Empty;

    /// <summary>When the message becomes visible.</summary>
    public DateTimeOffset NextVisibleOn { get; init; }
}

/// <summary>Queue properties.</summary>
public sealed class QueueProperties
{
    /// <summary>Approximate number of messages (includes invisible ones; may lag).</summary>
    public int ApproximateMessagesCount { get; init; }

    /// <summary>User metadata.</summary>
    public IDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>How message bodies are put on the wire.</summary>
public enum QueueMessageEncoding
{
    /// <summary>Text as is, XML-escaped (the official SDK's default). Only valid XML characters; use Base64 for binary.</summary>
    None,

    /// <summary>Base64 of the bytes (what Azure Functions' queue trigger and the v11 SDK used).</summary>
    Base64,
}
