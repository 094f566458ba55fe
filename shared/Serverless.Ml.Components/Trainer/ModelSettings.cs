using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Trainer;

/// <summary>
/// The resolved settings of one training run: the Trainer's parameters, overridden by a HyperParameters artifact when
/// one is bound. Plain JSON, so a Tuner trial activity receives exactly what the Trainer would use.
/// </summary>
public sealed record ModelSettings
{
    /// <summary><c>mlp</c> (tabular) or <c>cnn</c> (images). Default <c>mlp</c>.</summary>
    public string Model { get; init; } = "mlp";

    /// <summary>Hidden layer widths (MLP; dense layers after the convolutions for CNN). Default [64].</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [64];

    /// <summary>Dropout rate in [0, 1). Default 0.</summary>
    public double Dropout { get; init; }

    /// <summary><c>relu</c>, <c>tanh</c> or <c>sigmoid</c>. Default <c>relu</c>.</summary>
    public string Activation { get; init; } = "relu";

    /// <summary><c>adam</c> or <c>sgd</c> (with momentum). Default <c>adam</c>.</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>Learning rate. Default 1e-3.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>SGD momentum. Default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Mini-batch size. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Epochs. Default 50.</summary>
    public int Epochs { get; init; } = 50;

    /// <summary>Early-stopping patience in epochs on the eval split; 0 turns it off. Default 0.</summary>
    public int EarlyStoppingPatience { get; init; }

    /// <summary>Seed of weights, shuffling and dropout. Default 1.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Checkpoint every this many steps (always at the end too). Default 50.</summary>
    public int CheckpointEverySteps { get; init; } = 50;

    /// <summary>CNN: output channels per conv block. Default [8, 16].</summary>
    public IReadOnlyList<int> ConvChannels { get; init; } = [8, 16];

    /// <summary>CNN: image shape channels, height, width. Default [1, 28, 28].</summary>
    public IReadOnlyList<int> ImageShape { get; init; } = [1, 28, 28];

    /// <summary>
    /// The training engine, by name (<see cref="TrainerEngines"/>): <c>managed</c> (built in, every process) or
    /// <c>torchsharp</c> (libtorch; registered only in the trainer app). Default <c>managed</c>.
    /// </summary>
    public string Engine { get; init; } = TrainerEngines.Managed;

    /// <summary>torchsharp: <c>auto</c> (CUDA when libtorch finds a GPU), <c>cpu</c> or <c>cuda</c>. Default <c>auto</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// A user model's assembly (TFX's <c>module_file</c>; absolute once the pipeline is validated); empty for the
    /// built-in <see cref="Model"/>. Its content fingerprint is in the cache key (a path parameter).
    /// </summary>
    public string ModuleFile { get; init; } = string.Empty;

    /// <summary>The user model's factory type (full name) inside <see cref="ModuleFile"/>.</summary>
    public string ModelType { get; init; } = string.Empty;

    /// <summary>User model: the shape of one example as the module receives it; empty: flat <c>[features]</c>.</summary>
    public IReadOnlyList<int> InputShape { get; init; } = [];

    /// <summary>User model: its own settings (TFX's <c>custom_config</c>), handed to the factory as text.</summary>
    public IReadOnlyDictionary<string, string> CustomConfig { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>True when a user model (<see cref="ModuleFile"/>) replaces the built-in configurations.</summary>
    [JsonIgnore]
    public bool IsUserModel => ModuleFile.Length > 0;

    /// <summary>Reads the Trainer's parameters (see <see cref="TrainerComponent"/>).</summary>
    /// <exception cref="ArgumentException">A value is out of range or not one of the known names.</exception>
    public static ModelSettings FromParameters(ComponentParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var settings = new ModelSettings
        {
            Model = parameters.GetString("model").ToLowerInvariant(),
            HiddenSizes = ParseInts(parameters.GetString("hidden_sizes"), "hidden_sizes"),
            Dropout = parameters.GetDouble("dropout"),
            Activation = parameters.GetString("activation").ToLowerInvariant(),
            Optimizer = parameters.GetString("optimizer").ToLowerInvariant(),
            LearningRate = parameters.GetDouble("learning_rate"),
            Momentum = parameters.GetDouble("momentum"),
            BatchSize = (int)Math.Clamp(parameters.GetInt64("batch_size"), 1, 1 << 20),
            Epochs = (int)Math.Clamp(parameters.GetInt64("epochs"), 1, 1 << 20),
            EarlyStoppingPatience = (int)Math.Clamp(parameters.GetInt64("early_stopping_patience"), 0, 1 << 20),
            Seed = parameters.GetInt64("seed"),
            CheckpointEverySteps = (int)Math.Clamp(parameters.GetInt64("checkpoint_every_steps"), 0, int.MaxValue),
            ConvChannels = ParseInts(parameters.GetString("conv_channels"), "conv_channels"),
            ImageShape = ParseInts(parameters.GetString("image_shape"), "image_shape"),
            Engine = Optional(parameters, "engine", TrainerEngines.Managed).ToLowerInvariant(),
            Device = Optional(parameters, "device", "auto").ToLowerInvariant(),
            ModuleFile = Optional(parameters, "module_file", string.Empty),
            ModelType = Optional(parameters, "model_type", string.Empty).Trim(),
            InputShape = ParseInts(Optional(parameters, "input_shape", string.Empty), "input_shape"),
            CustomConfig = ParseCustomConfig(Optional(parameters, "custom_config", string.Empty)),
        };
        settings.Validate();
        return settings;
    }

    /// <summary>These settings with the tuned values of <paramref name="values"/> in place of the parameters.</summary>
    public ModelSettings With(HyperParameterValues? values) => values is null ? this : this with
    {
        LearningRate = values.LearningRate ?? LearningRate,
        HiddenSizes = values.HiddenSizes ?? HiddenSizes,
        Dropout = values.Dropout ?? Dropout,
        BatchSize = values.BatchSize ?? BatchSize,
    };

    /// <summary>Checks names and ranges.</summary>
    /// <exception cref="ArgumentException">The first bad value, named.</exception>
    public void Validate()
    {
        if (Model is not ("mlp" or "cnn")) throw new ArgumentException($"parameter 'model': '{Model}' is not mlp or cnn");
        if (Optimizer is not ("adam" or "sgd")) throw new ArgumentException($"parameter 'optimizer': '{Optimizer}' is not adam or sgd");
        _ = ParseActivation(Activation);
        if (Dropout is < 0 or >= 1) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"parameter 'dropout': {Dropout} is not in [0, 1)"));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"parameter 'learning_rate': {LearningRate} is not positive"));
        if (Model == "cnn" && ImageShape.Count != 3) throw new ArgumentException("parameter 'image_shape': give channels,height,width");
        if (!TrainerEngines.KnownNames.Contains(Engine, StringComparer.Ordinal))
        {
            throw new ArgumentException($"parameter 'engine': '{Engine}' is not {string.Join(" or ", TrainerEngines.KnownNames)}");
        }

        if (Device is not ("auto" or "cpu" or "cuda")) throw new ArgumentException($"parameter 'device': '{Device}' is not auto, cpu or cuda");
        if (Device == "cuda" && Engine == TrainerEngines.Managed)
        {
            throw new ArgumentException("parameter 'device': cuda needs engine: torchsharp (the managed engine trains on the CPU)");
        }

        if (IsUserModel && Engine != TrainerEngines.TorchSharp)
        {
            throw new ArgumentException($"parameter 'module_file': a user model needs engine: {TrainerEngines.TorchSharp} (this node says engine: {Engine})");
        }

        if (IsUserModel && ModelType.Length == 0) throw new ArgumentException("parameter 'model_type': name the model factory type in 'module_file' (e.g. MyModels.FashionNet)");
        if (!IsUserModel && ModelType.Length > 0) throw new ArgumentException("parameter 'model_type' needs 'module_file', the assembly that holds the type");
    }

    /// <summary>
    /// The shape of one example for a model over <paramref name="features"/> transformed features: <see cref="InputShape"/>
    /// (user models), <see cref="ImageShape"/> (cnn) or flat.
    /// </summary>
    /// <exception cref="ArgumentException">The shape does not hold exactly <paramref name="features"/> values.</exception>
    public IReadOnlyList<int> ExampleShape(int features)
    {
        IReadOnlyList<int> shape = IsUserModel ? InputShape : Model == "cnn" ? ImageShape : [];
        var parameter = IsUserModel ? "input_shape" : "image_shape";
        if (shape.Count == 0) return [features];
        if (shape.Aggregate(1L, (a, b) => a * b) != features)
        {
            throw new ArgumentException($"parameter '{parameter}': {string.Join('x', shape)} does not match the {features} transformed features");
        }

        return shape;
    }

    /// <summary>A new network for <paramref name="inputs"/> features and <paramref name="outputs"/> classes or values.</summary>
    public NeuralNetwork CreateNetwork(int inputs, int outputs, PredictionTask task)
    {
        var seed = unchecked((ulong)Seed);
        if (Model == "cnn")
        {
            if (task != PredictionTask.Classification) throw new ArgumentException("parameter 'model': cnn is a classifier; use mlp for regression");
            _ = ExampleShape(inputs);

            return NeuralNetwork.CreateConvNet(new ConvNetOptions
            {
                Channels = ImageShape[0], Height = ImageShape[1], Width = ImageShape[2], ConvChannels = ConvChannels,
                HiddenSizes = HiddenSizes, Dropout = (float)Dropout, Classes = outputs,
            }, seed);
        }

        return NeuralNetwork.CreateMlp(new MlpOptions
        {
            InputSize = inputs, OutputSize = outputs, HiddenSizes = HiddenSizes, Activation = ParseActivation(Activation),
            Dropout = (float)Dropout, Task = task,
        }, seed);
    }

    /// <summary>The library trainer's options for these settings.</summary>
    public TrainerOptions CreateTrainerOptions(string? checkpointPath, bool hasEval, Action<TrainingProgress>? onStep = null) => new()
    {
        Epochs = Epochs,
        BatchSize = BatchSize,
        Optimizer = Optimizer == "sgd"
            ? new SgdOptions { LearningRate = (float)LearningRate, Momentum = (float)Momentum }
            : new AdamOptions { LearningRate = (float)LearningRate },
        Seed = unchecked((ulong)Seed),
        EarlyStoppingPatience = EarlyStoppingPatience > 0 && hasEval ? EarlyStoppingPatience : null,
        CheckpointPath = checkpointPath,
        CheckpointEverySteps = checkpointPath is null ? 0 : CheckpointEverySteps,
        OnStep = onStep,
    };

    internal static Activation ParseActivation(string name) => name switch
    {
        "relu" => Ml.Training.Compute.Activation.Relu,
        "tanh" => Ml.Training.Compute.Activation.Tanh,
        "sigmoid" => Ml.Training.Compute.Activation.Sigmoid,
        _ => throw new ArgumentException($"parameter 'activation': '{name}' is not relu, tanh or sigmoid"),
    };

    private static string Optional(ComponentParameters parameters, string name, string fallback) =>
        parameters.Contains(name) ? parameters.GetString(name) : fallback;

    /// <summary>Parses <c>custom_config</c>: a JSON object of scalar values (TFX's dict), each handed on as text.</summary>
    internal static SortedDictionary<string, string> ParseCustomConfig(string text)
    {
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text)) return values;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"parameter 'custom_config': not a JSON object (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new ArgumentException("parameter 'custom_config': give a JSON object, e.g. {\"hidden\": 128}");
            foreach (var property in document.RootElement.EnumerateObject())
            {
                values[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                    _ => throw new ArgumentException($"parameter 'custom_config': '{property.Name}' is {property.Value.ValueKind}; values are strings, numbers or booleans"),
                };
            }
        }

        return values;
    }

    internal static int[] ParseInts(string text, string parameter)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] <= 0)
            {
                throw new ArgumentException($"parameter '{parameter}': '{parts[i]}' is not a positive integer (expected e.g. 64,32)");
            }
        }

        return values;
    }
}

/// <summary>
/// Tuned values (TFX's HyperParameters artifact, <c>hyperparameters.json</c>): each set value replaces the Trainer's
/// parameter of the same meaning; null leaves the parameter as it is.
/// </summary>
/// <param name="LearningRate">Learning rate.</param>
/// <param name="HiddenSizes">Hidden layer widths.</param>
/// <param name="Dropout">Dropout rate.</param>
/// <param name="BatchSize">Mini-batch size.</param>
public sealed record HyperParameterValues(
    [property: JsonPropertyName("learning_rate")] double? LearningRate = null,
    [property: JsonPropertyName("hidden_sizes")] int[]? HiddenSizes = null,
    [property: JsonPropertyName("dropout")] double? Dropout = null,
    [property: JsonPropertyName("batch_size")] int? BatchSize = null)
{
    /// <summary>A short text form for tables and logs, e.g. <c>lr=0.003 hidden=32,16 dropout=0.1 batch=32</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"lr={LearningRate:G4} hidden={(HiddenSizes is null ? "-" : string.Join(',', HiddenSizes))} dropout={Dropout:G3} batch={BatchSize}");
}
