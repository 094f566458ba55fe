namespace Serverless.Serving;

/// <summary>
/// An expected request failure with the HTTP status to answer (400 bad input, 401 no or wrong access key, 404 unknown
/// model/version/label, 405 wrong method, 413 request or response over a limit). The message names the offending
/// model, version, field or setting and is sent to the client.
/// </summary>
public sealed class ServingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ServingException(int statusCode, string message) : base(message) => StatusCode = statusCode;

    /// <summary>The HTTP status (4xx).</summary>
    public int StatusCode { get; }

    internal static ServingException BadRequest(string message) => new(400, message);

    internal static ServingException NotFound(string message) => new(404, message);
}
