using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;

namespace Serverless.Hosting;

/// <summary>
/// The serialization of inputs, outputs, event payloads and custom status shared by the worker and the client:
/// System.Text.Json with its web defaults (camelCase names, case-insensitive reading), which is what an isolated
/// Azure Functions app uses by default. So <c>{"name":"Tokyo"}</c> from an HTTP caller binds to a record with a
/// <c>Name</c> property, and the same classes read the same JSON on Azure Functions and here.
/// </summary>
public static class DurableJson
{
    /// <summary>The options behind <see cref="Converter"/>.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>The converter the runtime uses unless an app configures another one on both worker and client.</summary>
    public static DataConverter Converter { get; } = new JsonDataConverter(Options);
}
