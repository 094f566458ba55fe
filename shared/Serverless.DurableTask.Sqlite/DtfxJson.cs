using System.Globalization;
using System.Text;
using DurableTask.Core;
using DurableTask.Core.History;
using Newtonsoft.Json;
using Newtonsoft.Json.Serialization;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// How history events and task messages are written to the database: DTFx's own JSON form (Newtonsoft with
/// <c>$type</c> names, as DTFx's <c>JsonDataConverter</c> and the Azure Storage provider write them), so every field of
/// every event type round-trips, including the ones a future DTFx adds. Type names are only resolved inside DTFx's
/// assembly and for generic string collections, so a crafted database cannot make the process load other types.
/// </summary>
internal static class DtfxJson
{
    private static readonly JsonSerializer Serializer = JsonSerializer.Create(new JsonSerializerSettings
    {
        TypeNameHandling = TypeNameHandling.Objects,
        // The binder hands out the short ("Simple") names itself, computed once per type: with "Simple" here, Newtonsoft
        // would re-derive them from the full name by parsing it for every object it writes.
        TypeNameAssemblyFormatHandling = TypeNameAssemblyFormatHandling.Full,
        DateParseHandling = DateParseHandling.None,
        DateTimeZoneHandling = DateTimeZoneHandling.Utc,
        SerializationBinder = new RestrictedBinder(),
    });

    public static string Serialize(object value)
    {
        var sb = new StringBuilder(256);
        using var writer = new StringWriter(sb, CultureInfo.InvariantCulture);
        using var json = new JsonTextWriter(writer);
        Serializer.Serialize(json, value);
        json.Flush();
        return sb.ToString();
    }

    public static T Deserialize<T>(string text)
    {
        using var reader = new StringReader(text);
        using var json = new JsonTextReader(reader);
        return Serializer.Deserialize<T>(json) ?? throw new InvalidDataException($"A stored {typeof(T).Name} was null.");
    }

    public static string SerializeEvent(HistoryEvent e) => Serialize(e);

    public static HistoryEvent DeserializeEvent(string text) => Deserialize<HistoryEvent>(text);

    public static string SerializeMessage(TaskMessage m) => Serialize(m);

    public static TaskMessage DeserializeMessage(string text) => Deserialize<TaskMessage>(text);

    /// <summary>Resolves (and caches: Newtonsoft asks for every object) the types allowed in stored data.</summary>
    private sealed class RestrictedBinder : ISerializationBinder
    {
        private static readonly System.Reflection.Assembly Core = typeof(HistoryEvent).Assembly;
        private static readonly string CoreName = Core.GetName().Name!;
        private static readonly string[] PlainArguments =
            ["System.String,", "System.Object,", "System.Int32,", "System.Int64,", "System.Boolean,", "System.Double,"];

        private readonly DefaultSerializationBinder _default = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(string?, string), Type> _types = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<Type, string> _names = new();

        public Type BindToType(string? assemblyName, string typeName) =>
            _types.TryGetValue((assemblyName, typeName), out var type) ? type : _types.GetOrAdd((assemblyName, typeName), Resolve(assemblyName, typeName));

        private Type Resolve(string? assemblyName, string typeName)
        {
            if (assemblyName == CoreName)
                return Core.GetType(typeName, throwOnError: false) ?? throw new JsonSerializationException($"Unknown DTFx type '{typeName}' in stored data.");
            if (assemblyName is "System.Private.CoreLib" or "mscorlib" && IsPlainCollection(typeName))
                return _default.BindToType(assemblyName, typeName);
            throw new JsonSerializationException($"Type '{typeName}, {assemblyName}' is not allowed in stored DTFx data.");
        }

        /// <summary>Tags, failure properties and similar fields: generic collections of strings, numbers and objects.</summary>
        private static bool IsPlainCollection(string typeName)
        {
            if (!typeName.StartsWith("System.Collections.Generic.", StringComparison.Ordinal)) return false;
            var args = typeName.Split("[");
            return args.Skip(1).Where(a => a.Length > 0)
                .All(a => PlainArguments.Any(p => a.StartsWith(p, StringComparison.Ordinal)));
        }

        /// <summary>
        /// The name Newtonsoft writes with its default ("Simple") assembly format, e.g.
        /// <c>DurableTask.Core.History.TaskScheduledEvent, DurableTask.Core</c>, as one string (no assembly name apart).
        /// </summary>
        public void BindToName(Type serializedType, out string? assemblyName, out string? typeName)
        {
            if (!_names.TryGetValue(serializedType, out var name))
            {
                _default.BindToName(serializedType, out var a, out var t);
                name = _names.GetOrAdd(serializedType, SimpleName(a == null ? t! : t + ", " + a));
            }
            assemblyName = null;
            typeName = name;
        }

        /// <summary>
        /// An assembly-qualified type name without assembly versions, cultures and key tokens, also inside generic
        /// arguments: what Newtonsoft's "Simple" assembly format writes.
        /// </summary>
        internal static string SimpleName(string fullyQualified)
        {
            var sb = new StringBuilder(fullyQualified.Length);
            var writingAssemblyName = false;
            var skippingDetails = false;
            var afterBracket = false;
            foreach (var c in fullyQualified)
            {
                switch (c)
                {
                    case '[':
                    case ']':
                        writingAssemblyName = false;
                        skippingDetails = false;
                        afterBracket = c == '[';
                        sb.Append(c);
                        break;
                    case ',':
                        if (afterBracket)
                        {
                            sb.Append(c);
                        }
                        else if (!writingAssemblyName)
                        {
                            writingAssemblyName = true;
                            sb.Append(c);
                        }
                        else
                        {
                            skippingDetails = true;
                        }
                        break;
                    default:
                        afterBracket = false;
                        if (!skippingDetails) sb.Append(c);
                        break;
                }
            }
            return sb.ToString();
        }
    }
}
