namespace Serverless.Ml.Onnx.Runtime;

/// <summary>A tensor with the name of the graph input or output it belongs to.</summary>
/// <param name="Name">The input or output name.</param>
/// <param name="Tensor">The value.</param>
public readonly record struct NamedTensor(string Name, OnnxTensor Tensor)
{
    /// <summary>A named float tensor.</summary>
    public static NamedTensor Create(string name, float[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));

    /// <summary>A named double tensor.</summary>
    public static NamedTensor Create(string name, double[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));

    /// <summary>A named int64 tensor.</summary>
    public static NamedTensor Create(string name, long[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));

    /// <summary>A named bool tensor.</summary>
    public static NamedTensor Create(string name, bool[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));

    /// <summary>A named string tensor.</summary>
    public static NamedTensor Create(string name, string[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));
}
