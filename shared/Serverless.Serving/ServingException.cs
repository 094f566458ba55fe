namespace Serverless.Serving;

/// <summary>
/// An expected request failure with the HTTP status TF Serving would answer (400 bad input, 404 unknown
/// model/version/label). The message names the offending model, version or field and is sent to the client.
/// </summary>
public sealed class ServingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ServingException(int statusCode, string message) : base(message) => StatusCode = statusCode;

    /// <summary>The HTTP status: 400 or 404.</summary>
    public int StatusCode { get; }

    internal static ServingException BadRequest(string message) => new(400, message);

    internal static ServingException NotFound(string message) => new(404, message);
}
